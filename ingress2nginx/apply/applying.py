"""The edge where a rendered config meets the disk and nginx: write, validate.

Writing is atomic (a temp file beside the target, fsync, rename) so nginx never reads half a
config. Certificates, and the files annotations need from Secrets (htpasswd files, CA
bundles), go under --cert-dir (folder 0700, files 0600) before the config that names them;
files no longer referenced are removed. The files nginx's workers open at each request
(htpasswd) are given the workers' group instead, mode 0640, in a folder of mode 0710 with that
group, when the config names one (`Config.worker_group`, workers.py) and has such files.
Those are thousands of small files at scale: each is still replaced atomically, but instead of
one fsync per file (most of a cold render's time) the folder is synced once after all of
them, so the renames are durable; their data is left to the kernel's writeback. A file a
crash left short differs from its Secret, so the next run writes it again before any config
that names it.

Validation runs the real ``nginx -t`` on a copy when nginx is installed, and otherwise checks
the structure with crossplane, the parser nginx's own tooling uses.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import functools
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import crossplane
from cryptography import x509

from ingress2nginx.core.errors import OutputValidationError, OutputWriteError
from ingress2nginx.core.forking import started
from ingress2nginx.core.secret_files import PREFIXES as ANNOTATION_FILE_PREFIXES
from ingress2nginx.core.secret_files import READ_BY_WORKERS, SecretFile
from ingress2nginx.model import Config
from ingress2nginx.normalize.certificates import (
    DEFAULT_CERTIFICATE,
    SECRET_FILE_PREFIX,
    generate_default_certificate,
)

NGINX_TIMEOUT_SECONDS = 60
WRITE_CHUNK_CHARACTERS = 1 << 20
"""Text is encoded and written this much at a time: a 14 MB config encoded at once would
be one more 14 MB copy at the moment the process holds the most."""


def write_atomically(
    path: Path, text: str, mode: int = 0o644, *, sync: bool = True, group: int | None = None
) -> None:
    """Replace `path` with `text` so readers see the old or the new file, never a mix.

    With `group`, the file is given that group (before `mode` is set and it is moved in place).

    When the target is a single-file bind mount, where rename fails with EBUSY or EXDEV,
    fall back to rewriting it in place; a device or FIFO (``-o /dev/null``) is written to,
    never replaced. Without `sync`, the data is not flushed to disk
    here: the caller syncs the folder once after writing many files (`_sync_folder`).
    """
    path = Path(path)
    if _is_special(path):  # -o /dev/null, a FIFO: written to, never replaced by a file
        with open(path, "w", encoding="utf-8") as target:
            target.write(text)
        return
    directory = path.parent
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as temp:
            for start in range(0, len(text), WRITE_CHUNK_CHARACTERS):
                temp.write(text[start : start + WRITE_CHUNK_CHARACTERS])
            temp.flush()
            if sync:
                os.fsync(temp.fileno())
        if group is not None:
            os.chown(temp_name, -1, group)
        os.chmod(temp_name, mode)
        try:
            os.replace(temp_name, path)
        except OSError as error:
            if error.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            _rewrite_in_place(path, text)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def _is_special(path: Path) -> bool:
    """Whether `path` exists and is neither a regular file nor a folder (a device, a FIFO)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_certificates(config: Config, cert_dir: Path) -> None:
    """Write the certificates `config` uses, and the default one when it listens for HTTPS.

    Unchanged files are left alone (no churn for watchers of the folder); certificate files of
    Secrets no longer used are deleted. Only files named by this program are ever touched.
    The files annotations need (`Config.secret_files`) are written first.
    """
    write_secret_files(config.secret_files, cert_dir, config.worker_group)
    try:
        if not config.serves_tls and not config.certificates:
            if cert_dir.is_dir() and _remove_stale_pairs(cert_dir, set()):
                _sync_folder(cert_dir)  # an earlier config's keys are not left behind
            return
        _private_dir(cert_dir, _folder_group(config.secret_files, config.worker_group))
        wanted: set[str] = set()
        written = False
        for certificate in config.certificates:
            names, changed = _write_pair(
                cert_dir, certificate.name, certificate.chain_pem, certificate.key_pem
            )
            wanted.update(names)
            written = written or changed
        written = _ensure_default_certificate(cert_dir) or written
        written = _remove_stale_pairs(cert_dir, wanted) or written
        if written:
            _sync_folder(cert_dir)
    except OSError as error:
        raise OutputWriteError(
            f"cannot write certificates to {cert_dir}: {error.strerror or error}"
            " (set --cert-dir to a writable folder)"
        ) from error


def start_writing_certificates(config: Config, cert_dir: Path) -> Callable[[], None]:
    """`write_certificates` in a forked process (core/forking.py), so that a one-shot render
    lays out the config meanwhile (a cold write of thousands of files is mostly waiting for
    the disk). Returns the function that waits for it, which writes the certificates itself
    when the process did not succeed, raising what `write_certificates` raises."""
    return started(functools.partial(write_certificates, config, cert_dir))


def _remove_stale_pairs(cert_dir: Path, wanted: set[str]) -> bool:
    """Delete the certificate files of Secrets that are no longer used; whether any was."""
    removed = False
    for stale in cert_dir.glob(f"{SECRET_FILE_PREFIX}*"):
        if stale.name not in wanted and stale.suffix in (".crt", ".key"):
            stale.unlink()
            removed = True
    return removed


def write_secret_files(
    files: Iterable[SecretFile], cert_dir: Path, worker_group: int | None = None
) -> None:
    """Write the files from Secrets named by annotations (mode 0600, folder 0700; with
    `worker_group`, those workers read mode 0640 with that group, folder 0710); delete those
    no longer used (only names with a prefix of `secret_files.PREFIXES`)."""
    files = list(files)
    if not files and not cert_dir.is_dir():
        return
    try:
        if files:
            _private_dir(cert_dir, _folder_group(files, worker_group))
        written = False
        for file in files:
            written = _write_secret_file(cert_dir / file.name, file, worker_group) or written
        wanted = {file.name for file in files}
        for prefix in ANNOTATION_FILE_PREFIXES:
            for stale in cert_dir.glob(f"{prefix}*"):
                if stale.name not in wanted and stale.is_file():
                    stale.unlink()
                    written = True
        if written:
            _sync_folder(cert_dir)
    except OSError as error:
        raise OutputWriteError(
            f"cannot write files to {cert_dir}: {error.strerror or error}"
            " (set --cert-dir to a writable folder)"
        ) from error


def _write_secret_file(target: Path, file: SecretFile, worker_group: int | None) -> bool:
    """Write one file unless it is there already with the right content, group and mode;
    whether it was written."""
    group = worker_group if file.name.startswith(READ_BY_WORKERS) else None
    mode = 0o600 if group is None else 0o640
    try:
        found = target.stat()
    except FileNotFoundError:
        found = None
    if found is not None and target.read_bytes() == file.content:
        if stat.S_IMODE(found.st_mode) != mode or (group is not None and found.st_gid != group):
            os.chown(target, -1, found.st_gid if group is None else group)
            os.chmod(target, mode)
        return False
    write_atomically(target, file.content.decode("ascii"), mode=mode, sync=False, group=group)
    return True


def secret_files_on_disk(cert_dir: Path) -> list[SecretFile]:
    """The files from Secrets that `write_secret_files` left in `cert_dir` (watch mode keeps
    them until the config that stops using them is confirmed)."""
    found = []
    for prefix in ANNOTATION_FILE_PREFIXES:
        for path in sorted(cert_dir.glob(f"{prefix}*")):
            with contextlib.suppress(OSError):
                found.append(SecretFile(path.name, "", path.read_bytes()))
    return found


def make_runtime_dir(path: Path | None) -> None:
    """The folder nginx writes its pid file and temp files to (``--runtime-dir``), made when
    missing (0755: nginx's workers use it): nginx, and ``nginx -t``, refuse a config whose pid
    file's folder does not exist, but create everything inside it themselves."""
    if path is None:
        return
    try:
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as error:
        raise OutputWriteError(
            f"cannot make the runtime folder {path}: {error.strerror or error}"
        ) from error


def _folder_group(files: Iterable[SecretFile], worker_group: int | None) -> int | None:
    """The group --cert-dir is opened to: the workers', only when they read a file in it."""
    if any(file.name.startswith(READ_BY_WORKERS) for file in files):
        return worker_group
    return None


def _private_dir(path: Path, worker_group: int | None = None) -> None:
    """The folder, made when missing: 0700, or 0710 with `worker_group` (workers may open
    the files they read by name, not list the folder)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = 0o700 if worker_group is None else 0o710
    found = path.stat()
    if worker_group is not None and found.st_gid != worker_group:
        os.chown(path, -1, worker_group)
    if stat.S_IMODE(found.st_mode) != mode:
        path.chmod(mode)


def _write_pair(
    directory: Path, stem: str, chain: bytes, key: bytes
) -> tuple[tuple[str, str], bool]:
    """Write a certificate and its key unless unchanged (unsynced: see `_sync_folder`); their
    file names, and whether one was written."""
    names = (f"{stem}.crt", f"{stem}.key")
    written = False
    for name, content in zip(names, (chain, key), strict=True):
        target = directory / name
        if _write_new(target, content, 0o600):
            written = True
        elif not _holds(target, content):
            write_atomically(target, content.decode("ascii"), mode=0o600, sync=False)
            written = True
    return names, written


def _holds(path: Path, content: bytes) -> bool:
    """Whether the file at `path` holds `content` (not when it is a link to nothing)."""
    try:
        return path.read_bytes() == content
    except FileNotFoundError:
        return False


def _write_new(target: Path, content: bytes, mode: int) -> bool:
    """Write `target` when it does not exist yet (nothing can be reading it: no config names
    it before it is written), straight, without a temporary file and a rename (a cold render
    writes thousands); whether it did. Unsynced, as `_write_pair`."""
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:  # a file, a link, anything: replaced atomically if it differs
        return False
    try:
        with os.fdopen(descriptor, "wb") as stream:
            os.fchmod(stream.fileno(), mode)  # whatever the umask
            stream.write(content)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
    return True


def _sync_folder(folder: Path) -> None:
    """Make the renames just done in `folder` durable: one fsync of the folder for all."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _ensure_default_certificate(directory: Path) -> bool:
    """Generate the default certificate unless a valid one (30 days left) is already there;
    whether it was written."""
    certificate = directory / f"{DEFAULT_CERTIFICATE}.crt"
    key = directory / f"{DEFAULT_CERTIFICATE}.key"
    if certificate.exists() and key.exists() and _valid_for_30_days(certificate.read_bytes()):
        return False
    chain_pem, key_pem = generate_default_certificate()
    return _write_pair(directory, DEFAULT_CERTIFICATE, chain_pem, key_pem)[1]


def _valid_for_30_days(pem: bytes) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return False
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    return certificate.not_valid_after_utc > soon


def _rewrite_in_place(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as target:
        target.write(text)
        target.flush()
        os.fsync(target.fileno())


def find_nginx() -> str | None:
    """The nginx binary on PATH (or Debian's /usr/sbin), if any."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def validate(text: str, nginx: str | None = None) -> str:
    """Check a config with ``nginx -t`` when nginx is installed, else with crossplane.

    Returns the name of the validator used; raises `OutputValidationError` with nginx's
    own message when the config is refused.
    """
    binary = nginx or find_nginx()
    if binary is None:
        validate_structure(text)
        return "crossplane"
    validate_with_nginx(text, binary)
    return "nginx -t"


def validate_with_nginx(text: str, binary: str) -> None:
    """Run ``nginx -t`` on `text` in a scratch prefix."""
    with tempfile.TemporaryDirectory(prefix="ingress2nginx-check-") as scratch:
        config = Path(scratch) / "nginx.conf"
        config.write_text(text, encoding="utf-8")
        command = [binary, "-t", "-q", "-p", scratch, "-c", str(config), "-e", "stderr"]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=NGINX_TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise OutputValidationError(f"could not run {binary} -t: {error}") from error
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip().replace(str(config), "nginx.conf")
            raise OutputValidationError(f"nginx -t refused the config: {message}")


def validate_structure(text: str) -> None:
    """Parse `text` with crossplane; raise when it is not well-formed nginx syntax."""
    with tempfile.TemporaryDirectory(prefix="ingress2nginx-parse-") as scratch:
        config = Path(scratch) / "nginx.conf"
        config.write_text(text, encoding="utf-8")
        payload = crossplane.parse(str(config), single=True, check_ctx=True, check_args=True)
    if payload["status"] != "ok":
        errors = "; ".join(
            f"line {error.get('line')}: {error.get('error')}" for error in payload["errors"]
        )
        raise OutputValidationError(f"crossplane refused the config: {errors}")
