"""What a watcher does at start so that nginx does not notice it was restarted.

A sidecar container restarts (a crash, an OOM kill, a new image) while nginx goes on serving.
The new watcher renders the same sources into the same config, and reloading nginx for it
would be pure loss: a reload closes every idle keep-alive connection and starts new workers.
So, before it applies a config, the watcher asks nginx's status server which config its workers
run (reloading.py's `StatusEndpoint`); when nginx answers the identity of the config just
rendered, nginx already runs it: the files are brought in line where their bytes differ, and
nginx is not signalled (`ApplyPipeline.apply`). The identity covers the text and every
certificate and Secret file, and it comes from nginx itself, so neither a file on disk newer
than what nginx loaded (a watcher that died between writing and reloading) nor one older can
fool it.

Without a status port (``--status-port 0``) nginx cannot be asked, and a small state file
beside the output stands in (`applied_state`): the apply pipeline deletes it before it writes
anything (certificates, the output) and writes the identity there once the reload succeeded.
A watcher that finds the identity it rendered in that file, the output holding exactly the
rendered bytes and (with SIGHUP reloads) a live nginx master in the pid file, knows that
nothing was written since a reload of this very config: nginx runs it (or, if it restarted
since, read these same files). A watcher that died between writing and reloading left no
state file, so the next one reloads. Its limit: it trusts the earlier reload as the earlier
watcher did (unconfirmed), and it cannot see a config loaded by someone else since.

A watcher killed in the middle of a write leaves its temp files behind (``.nginx.conf.XXXX``,
``.tls-ns_name.crt.XXXX``). `remove_leftover_temp_files` deletes them at start: only names
this program makes (the output's own name, or a --cert-dir file prefix, followed by Python's
eight random characters), never anything else in those folders.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from ingress2nginx.core.secret_files import PREFIXES as ANNOTATION_FILE_PREFIXES
from ingress2nginx.normalize.certificates import DEFAULT_CERTIFICATE, SECRET_FILE_PREFIX

_RANDOM = r"[a-z0-9_]{8}"
"""What `tempfile.mkstemp` puts between prefix and suffix."""

CERT_DIR_PREFIXES = (SECRET_FILE_PREFIX, f"{DEFAULT_CERTIFICATE}.", *ANNOTATION_FILE_PREFIXES)
"""The names applying.py writes under --cert-dir start with one of these."""


STATE_SUFFIX = ".applied"


def applied_state(output: Path) -> Path:
    """The state file beside the output: ``.NAME.applied``, holding the applied identity."""
    return output.with_name(f".{output.name}{STATE_SUFFIX}")


def recorded_identity(output: Path) -> str | None:
    """The identity the state file holds, or None (no file, unreadable, not an identity)."""
    try:
        text = applied_state(output).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else None


def record_identity(output: Path, identity: str | None) -> None:
    """Write `identity` to the state file (after a successful reload), or delete the file
    (`None`: before writing anything). Failures are ignored: without the file, the next
    watcher merely reloads once."""
    state = applied_state(output)
    with contextlib.suppress(OSError):
        if identity is None:
            state.unlink(missing_ok=True)
            return
        temp = state.with_name(state.name + ".tmp")
        temp.write_text(identity + "\n", encoding="ascii")
        os.replace(temp, state)


def temp_file_pattern(output: Path) -> re.Pattern[str]:
    """Temp names of the output: ``.NAME.XXXXXXXX.tmp`` (the apply pipeline's, validated
    before the rename), ``.NAME.XXXXXXXX`` (`applying.write_atomically`'s) and the state
    file's ``.NAME.applied.tmp``."""
    name = re.escape(output.name)
    return re.compile(rf"\.{name}\.(?:{_RANDOM}(\.tmp)?|applied\.tmp)")


def cert_dir_temp_pattern() -> re.Pattern[str]:
    """Temp names `applying.write_atomically` uses for certificates, keys and Secret files."""
    prefixes = "|".join(re.escape(prefix) for prefix in CERT_DIR_PREFIXES)
    return re.compile(rf"\.(?:{prefixes})[^/]*\.{_RANDOM}")


def remove_leftover_temp_files(output: Path, cert_dir: Path) -> list[Path]:
    """Delete the temp files a killed watcher left beside `output` and in `cert_dir`; the
    paths removed. Files that cannot be listed or removed are left (nothing depends on it)."""
    removed = _remove_matching(output.parent, temp_file_pattern(output))
    return removed + _remove_matching(cert_dir, cert_dir_temp_pattern())


def _remove_matching(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        path = Path(entry.path)
        if not pattern.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                path.unlink()
                removed.append(path)
    return removed
