"""The file source (watch/files.py): which file-system changes wake it and what it reads.

No nginx here: a `FileSource` is started with a callback, files change as editors, tools and
the kubelet change them, and the test checks that the source woke and that its snapshot shows
the new objects. Waits are bounded; "does not wake" is checked over a short window.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import ingress, manifest_text, path, rule, to
from watchrun import ConfigMapVolume, write_manifests

from ingress2nginx.apply.restarting import remove_leftover_temp_files
from ingress2nginx.core.errors import SourceError
from ingress2nginx.watch.files import FileSource, KeepLastGood

DEADLINE = 5.0


class Woken:
    """Collects the source's change notifications."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self._event = threading.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self._event.set()

    def wait(self) -> bool:
        woke = self._event.wait(DEADLINE)
        self._event.clear()
        return woke

    def wait_for(self, fragment: str) -> bool:
        """Whether a notification naming `fragment` arrives before the deadline."""
        deadline = time.monotonic() + DEADLINE
        while not any(fragment in reason for reason in self.reasons):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def quiet_for(self, seconds: float) -> bool:
        self._event.clear()
        return not self._event.wait(seconds)


@pytest.fixture
def watched() -> Iterator[list[FileSource]]:
    sources: list[FileSource] = []
    yield sources
    for source in sources:
        source.stop()


def start(sources: list[FileSource], *paths: Path) -> tuple[FileSource, Woken]:
    source, woken = FileSource([str(p) for p in paths]), Woken()
    source.start(woken)
    sources.append(source)
    return source, woken


def names(source: FileSource) -> list[str]:
    return sorted(manifest.name for manifest in source.snapshot().manifests)


def site(name: str) -> dict[str, object]:
    return ingress(name, rules=[rule(f"{name}.test", path("/", to("web")))])


def test_an_editor_save_by_rename_over_a_single_file_source_is_seen(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    single = tmp_path / "app.yaml"
    write_manifests(single, [site("one")])
    source, woken = start(watched, single)
    assert names(source) == ["one"]
    write_manifests(single, [site("two")])  # temp file + rename: the inode changes
    assert woken.wait()
    assert names(source) == ["two"]


def test_a_configmap_data_swap_is_seen_and_the_new_files_are_read(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    volume = ConfigMapVolume(tmp_path / "volume")
    volume.publish({"app.yaml": manifest_text([site("one")])})
    source, woken = start(watched, volume.root)
    assert names(source) == ["one"]
    volume.publish({"app.yaml": manifest_text([site("two")]), "b.yaml": manifest_text([site("b")])})
    assert woken.wait_for("/..data")  # the rename of ..data_tmp over ..data
    assert names(source) == ["b", "two"]


def test_reading_the_files_does_not_wake_the_source(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    write_manifests(tmp_path / "a.yaml", [site("a")])
    source, woken = start(watched, tmp_path)
    assert names(source) == ["a"]
    assert woken.quiet_for(0.3), woken.reasons


def test_deletions_and_files_in_new_subfolders_are_seen(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    write_manifests(tmp_path / "a.yaml", [site("a")])
    source, woken = start(watched, tmp_path)
    (tmp_path / "team").mkdir()
    assert woken.wait()
    write_manifests(tmp_path / "team" / "b.yaml", [site("b")])
    assert woken.wait()
    assert names(source) == ["a", "b"]
    (tmp_path / "a.yaml").unlink()
    assert woken.wait()
    assert names(source) == ["b"]


def test_a_source_folder_created_after_start_is_watched_once_it_exists(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    folder = tmp_path / "later"
    source, woken = start(watched, folder)
    with pytest.raises(SourceError):
        source.snapshot()  # the pass fails: nginx keeps its last good config
    folder.mkdir()
    assert woken.wait()  # seen through its parent
    assert names(source) == []
    write_manifests(folder / "a.yaml", [site("a")])
    assert woken.wait()
    assert names(source) == ["a"]


def test_a_file_that_stops_parsing_keeps_its_last_good_objects_and_says_so(
    tmp_path: Path,
) -> None:
    cache, file = KeepLastGood(), tmp_path / "app.yaml"
    file.write_text(manifest_text([site("good")]))
    assert [m.name for m in cache.load_file(str(file)).manifests] == ["good"]
    file.write_text("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: [\n")
    _bump_mtime(file)
    result = cache.load_file(str(file))
    assert [m.name for m in result.manifests] == ["good"]
    assert [p.code for p in result.problems] == ["malformed-source", "stale-source"]
    file.write_text(manifest_text([site("fixed")]))
    _bump_mtime(file)
    assert [m.name for m in cache.load_file(str(file)).manifests] == ["fixed"]


def test_a_file_malformed_from_the_start_is_only_reported(tmp_path: Path) -> None:
    file = tmp_path / "app.yaml"
    file.write_text("kind: [\n")
    result = KeepLastGood().load_file(str(file))
    assert result.manifests == () and [p.code for p in result.problems] == ["malformed-source"]


def test_a_file_gone_between_listing_and_reading_counts_as_deleted(tmp_path: Path) -> None:
    result = KeepLastGood().load_file(str(tmp_path / "gone.yaml"))
    assert result.manifests == () and result.problems == ()


def _bump_mtime(file: Path) -> None:
    """Make sure the stat changes even on coarse-timestamp file systems."""
    later = time.time_ns() + 10_000_000
    os.utime(file, ns=(later, later))


def test_a_missing_source_folder_is_not_woken_by_writes_beside_it(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    folder = tmp_path / "later"
    source, woken = start(watched, folder)
    with pytest.raises(SourceError):
        source.snapshot()
    for number in range(5):  # the watcher's own log, say
        (tmp_path / f"watch-{number}.log").write_text("a line\n")
    assert woken.quiet_for(0.3), woken.reasons
    staged = tmp_path / "staged"
    staged.mkdir()
    write_manifests(staged / "a.yaml", [site("a")])
    assert woken.quiet_for(0.2), woken.reasons  # a sibling folder, its files
    os.rename(staged, folder)  # renamed into place: the SOURCE's own name
    assert woken.wait_for(str(folder))
    assert names(source) == ["a"]


def test_a_source_folder_deleted_and_recreated_is_watched_anew(
    tmp_path: Path, watched: list[FileSource]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "a.yaml", [site("a")])
    source, woken = start(watched, folder)
    assert names(source) == ["a"]
    for _ in range(3):  # the new folder often gets the old inode number back
        shutil.rmtree(folder)
        folder.mkdir()
        assert woken.wait_for(f"deleted {folder}")
        assert names(source) == []  # the loop's pass after the wake-up
        woken.reasons.clear()
        write_manifests(folder / "b.yaml", [site("b")])
        assert woken.wait_for(str(folder / "b.yaml")), woken.reasons
        assert names(source) == ["b"]


def test_only_temp_files_of_ours_are_removed_at_start(tmp_path: Path) -> None:
    output, certs = tmp_path / "nginx.conf", tmp_path / "certs"
    certs.mkdir()
    ours = [
        tmp_path / ".nginx.conf.k2x_9abq.tmp",  # the apply pipeline's, being validated
        tmp_path / ".nginx.conf.a1b2c3d4",  # write_atomically's
        certs / ".tls-default_shop.crt.zz99yy88",
        certs / ".default-server.key.abcdefgh",
        certs / ".auth-file-default_users.q1w2e3r4",
        certs / ".ca-default_bundle.pem.00000000",
    ]
    others = [
        output,
        tmp_path / ".nginx.conf.swp",
        tmp_path / ".nginx.conf.toolongname.tmp",
        tmp_path / ".other.conf.a1b2c3d4",
        tmp_path / "nginx.conf.a1b2c3d4.tmp",
        certs / "tls-default_shop.crt",
        certs / ".mine.crt.abcdefgh",
        tmp_path / ".tls-default_shop.crt.zz99yy88",  # not in --cert-dir
    ]
    for file in ours + others:
        file.write_text("x")
    removed = remove_leftover_temp_files(output, certs)
    assert sorted(removed) == sorted(ours)
    assert all(file.exists() for file in others)
    assert remove_leftover_temp_files(output, tmp_path / "missing") == []
