"""Finding the files a SOURCE names: a file, or a folder walked recursively.

Folder walks are deterministic: entries sorted by name, a folder's files before its
subfolders, hidden entries skipped except the ``..data`` link of a mounted ConfigMap (loading.py
reads each file once however many links lead to it, by real path, so a ConfigMap volume's
``app.yaml -> ..data/app.yaml`` is read once, under its visible name).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ingress2nginx.core.errors import SourceError
from ingress2nginx.sources.parsing import lower_first

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
"""File name endings read when walking a folder (files named explicitly are always read)."""

CONFIGMAP_DATA_LINK = "..data"
"""The one hidden entry walked: kubelet's link to the current files of a ConfigMap volume."""


def source_files(source: str, walked: set[str]) -> Iterator[str]:
    """The files of one SOURCE: itself, or the manifest files of the folder it names (each
    folder once: `walked` holds the real paths of those walked already)."""
    try:
        mode = os.stat(source).st_mode
    except OSError as error:
        raise SourceError(printable(source), os_reason(error)) from error
    if stat.S_ISDIR(mode):
        yield from _walk(source, walked)
    else:
        yield source


def _walk(folder: str, walked: set[str]) -> Iterator[str]:
    """Manifest files under folder: sorted, files before subfolders, each folder once."""
    real = os.path.realpath(folder)
    if real in walked:  # a link loop, or a folder reached twice
        return
    walked.add(real)
    try:
        with os.scandir(folder) as scan:
            entries = sorted((e for e in scan if _is_walked(e.name)), key=lambda e: e.name)
        subfolders = [entry.path for entry in entries if entry.is_dir()]
        files = [entry.path for entry in entries if _is_manifest_file(entry)]
    except OSError as error:
        raise SourceError(printable(folder), os_reason(error)) from error
    yield from files
    for subfolder in subfolders:
        yield from _walk(subfolder, walked)


def _is_walked(name: str) -> bool:
    return not name.startswith(".") or name == CONFIGMAP_DATA_LINK


def _is_manifest_file(entry: os.DirEntry[str]) -> bool:
    return entry.name.lower().endswith(MANIFEST_SUFFIXES) and entry.is_file()


def os_reason(error: OSError) -> str:
    """The reason of an OS error as a message fragment (``no such file or directory``)."""
    return lower_first(error.strerror or str(error))


def printable(text: str) -> str:
    """Text safe on a terminal: control characters (in a file name, say) escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
