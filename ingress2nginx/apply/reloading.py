"""The apply pipeline: a rendered config becomes the one nginx runs, or nothing changes at all.

The watch loop (watching.py) decides *when* to apply; this module decides *how*, so that nginx
is never left on a broken config. `ApplyPipeline.apply` takes a `DesiredConfig` and goes:

1. **unchanged?** Its identity (see `desired_config`) equals the last applied one: stop here,
   no write, no reload. **Already running?** nginx answers that identity (a restarted
   watcher; restarting.py): only the files whose bytes differ are written, no reload.
2. **certificates** are written under --cert-dir; files the running config may still use are
   kept until the new config is confirmed (only then are stale ones pruned).
3. **temp file** beside the output, so validation sees the same folder (``include`` paths and
   the conf prefix resolve as for the real file).
4. **validate** the temp file (validators.py): ``--validate-command``, else ``nginx -t -c TEMP``
   when nginx is installed, else crossplane's parser.
5. **atomic replace** of the output (a rewrite in place when it is a single-file bind mount).
6. **reload**: a command (``--reload-command``), or SIGHUP to the master named by the pid file.
7. **confirm**: poll nginx's loopback status server until it answers the new identity; nginx
   refuses some configs only when it loads them (a port already in use), keeping the old one.
8. **record** the identity as applied.

A failure before step 5 leaves the output untouched. A failure at step 6 or 7 writes the last
good text back, so a restarting nginx never reads a config it refused. Either way the outcome
says which step failed and why, and the caller retries.

The identity is a SHA-256 of the rendered text (with `IDENTITY_PLACEHOLDER` where the identity
goes) and of the certificate files it names; it is then stamped into the status server's
``return`` line. So the config carries the hash of everything but that line, a changed
certificate alone changes the identity (and makes a reload), and asking nginx which identity
it answers tells which config its workers run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingress2nginx.apply.applying import (
    secret_files_on_disk,
    write_atomically,
    write_certificates,
    write_secret_files,
)
from ingress2nginx.apply.reloaders import (
    ApplyError,
    Reloader,
    SignalReloader,
    StatusEndpoint,
    Step,
    master_pid,
)
from ingress2nginx.apply.restarting import record_identity, recorded_identity
from ingress2nginx.apply.validators import Validator
from ingress2nginx.core.errors import Ingress2NginxError, OutputValidationError
from ingress2nginx.model import CertificateFile, Config
from ingress2nginx.normalize.certificates import SECRET_FILE_PREFIX
from ingress2nginx.render.rendering import IDENTITY_PLACEHOLDER


@dataclass(frozen=True, slots=True)
class DesiredConfig:
    """A rendered config ready to apply, stamped with its identity."""

    text: str
    identity: str
    """SHA-256 (hex) of the text before stamping and of its certificate files."""
    config: Config
    """The model it was rendered from: its certificates are written before validation."""


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """What one `ApplyPipeline.apply` did."""

    identity: str
    changed: bool
    """False when the identity equalled the applied one (nothing was done)."""
    failed_step: Step | None = None
    reason: str = ""
    """Why it failed; or, on success, what the reload did."""
    validator: str = ""
    reloaded: bool = False
    """Whether nginx was told to reload (False when it started with the new file itself)."""
    adopted: bool = False
    """nginx already ran it (a restarted watcher): files brought in line, no reload."""

    @property
    def ok(self) -> bool:
        """Whether nginx now runs `identity` (or already did)."""
        return self.failed_step is None


def desired_config(text: str, config: Config) -> DesiredConfig:
    """Compute the identity of a rendered config and stamp it where the template asked."""
    digest = hashlib.sha256(text.encode("utf-8"))
    for certificate in config.certificates:
        for part in (certificate.name.encode(), certificate.chain_pem, certificate.key_pem):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    for file in config.secret_files:  # htpasswd files, CA bundles: a change must be applied
        for part in (file.name.encode(), file.content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    identity = digest.hexdigest()
    return DesiredConfig(text.replace(IDENTITY_PLACEHOLDER, identity), identity, config)


# --- reloading and confirming ----------------------------------------------------------------


class ApplyPipeline:
    """Applies desired configs to one output file and one nginx; not thread-safe (one loop)."""

    def __init__(
        self,
        output: Path,
        cert_dir: Path,
        *,
        validator: Validator,
        reloader: Reloader,
        confirmer: StatusEndpoint | None,
    ) -> None:
        self.output = Path(output)
        self.cert_dir = cert_dir
        self.validator = validator
        self.reloader = reloader
        self.confirmer = confirmer
        self.applied: DesiredConfig | None = None
        """The last config confirmed live (None before the first)."""
        self._last_good_text = _read_text(self.output)
        self._checked: str | None = None
        """The text `check` last passed: installed without validating it again."""

    def apply(self, desired: DesiredConfig, stop: threading.Event | None = None) -> ApplyOutcome:
        """Make nginx run `desired` (see the module docstring); never raises `ApplyError`."""
        if self.applied is not None and desired.identity == self.applied.identity:
            return ApplyOutcome(desired.identity, changed=False)
        stop = stop or threading.Event()
        adopting = self._nginx_runs(desired)
        if not adopting:
            record_identity(self.output, None)  # from here on, the files may change
        try:
            told = self._adopt(desired, stop) if adopting else self._apply(desired, stop)
        except ApplyError as error:
            reason = error.reason
            if error.step in (Step.RELOAD, Step.CONFIRM) and not stop.is_set():
                reason += self._restore_last_good()
            return ApplyOutcome(desired.identity, True, error.step, reason, self.validator.name)
        self.applied = desired
        self._last_good_text = desired.text
        if recorded_identity(self.output) != desired.identity:
            record_identity(self.output, desired.identity)
        self._prune_certificates(desired.config)
        note = "reloaded" if told else "nginx started with it"
        if adopting:
            note = "nginx already ran it: not reloaded"
        elif self.confirmer is None:
            note += " (not confirmed: no status port)"
        validator = self.validator.name
        return ApplyOutcome(desired.identity, True, None, note, validator, told, adopting)

    def _nginx_runs(self, desired: DesiredConfig) -> bool:
        """Whether nginx already runs `desired` (a restarted watcher rendered the config
        nginx runs): its workers answer the identity, or, without a status port, the state
        file and the output say nothing was written since it was reloaded (restarting.py)."""
        if self.confirmer is not None:
            return self.confirmer.current() == desired.identity
        if recorded_identity(self.output) != desired.identity:
            return False
        if isinstance(self.reloader, SignalReloader) and master_pid(self.reloader.pid_file) is None:
            return False  # nginx is not running: not "already running it"
        return _read_text(self.output) == desired.text

    def _adopt(self, desired: DesiredConfig, stop: threading.Event) -> bool:
        """nginx runs `desired` already: write the files whose bytes differ (a watcher may
        have died between writing newer ones and reloading), leave the others untouched,
        and do not reload (a reload cuts idle keep-alive connections)."""
        self._write_certificates(desired.config)
        if _read_text(self.output) != desired.text:
            self._install(desired.text, stop)
        return False

    def _apply(self, desired: DesiredConfig, stop: threading.Event) -> bool:
        """The steps after "unchanged?"; whether nginx was told to reload."""
        if self.confirmer is not None and desired.identity not in desired.text:
            raise ApplyError(
                Step.RENDER,
                "the main template has no status server, which watch mode needs to confirm"
                " reloads (keep the bundled one's 'status' block, or pass --status-port 0)",
            )
        self._write_certificates(desired.config)
        self._install(desired.text, stop)
        told = self.reloader.reload()
        if self.confirmer is not None:
            self.confirmer.wait_for(desired.identity, stop)
        elif not told:
            raise ApplyError(Step.RELOAD, "nginx is not running (no live master in the pid file)")
        return told

    def _write_certificates(self, config: Config) -> None:
        """Write the new certificates, keeping every Secret file already on disk: the running
        config may use them until the new one is confirmed."""
        wanted = {certificate.name: certificate for certificate in config.certificates}
        for certificate in _certificates_on_disk(self.cert_dir):
            wanted.setdefault(certificate.name, certificate)
        files = {file.name: file for file in config.secret_files}
        for file in secret_files_on_disk(self.cert_dir):
            files.setdefault(file.name, file)
        keeping = dataclasses.replace(
            config, certificates=tuple(wanted.values()), secret_files=tuple(files.values())
        )
        try:
            write_certificates(keeping, self.cert_dir)
        except Ingress2NginxError as error:
            raise ApplyError(Step.CERTIFICATES, str(error)) from error

    def _prune_certificates(self, config: Config) -> None:
        """Delete the Secret files the applied config no longer uses (keys included)."""
        with contextlib.suppress(Ingress2NginxError, OSError):  # retried at the next apply
            if config.serves_tls or config.certificates:
                write_certificates(config, self.cert_dir)
                return
            write_secret_files(config.secret_files, self.cert_dir, config.worker_group)
            for stale in _certificates_on_disk(self.cert_dir):
                for suffix in (".crt", ".key"):
                    (self.cert_dir / f"{stale.name}{suffix}").unlink(missing_ok=True)

    def check(self, desired: DesiredConfig) -> str | None:
        """Validate `desired` as `apply` would, installing nothing (its certificates are
        written, as for an apply): None when it passes, else the validator's reason. An
        `apply` of the same text right after does not validate it again."""
        try:
            self._write_certificates(desired.config)
            with self._temp_file(desired.text) as temp:
                self._validate(temp)
        except ApplyError as error:
            return error.reason
        self._checked = desired.text
        return None

    def _install(self, text: str, stop: threading.Event) -> None:
        """Write a temp file beside the output, validate it, then move it into place."""
        with self._temp_file(text) as temp:
            if text != self._checked:
                self._validate(temp)
            if stop.is_set():
                raise ApplyError(Step.INSTALL, "abandoned: the watcher is stopping")
            try:
                _replace(temp, self.output, text)
            except OSError as error:
                raise ApplyError(Step.INSTALL, f"cannot write {self.output}: {error}") from error

    @contextlib.contextmanager
    def _temp_file(self, text: str) -> Iterator[Path]:
        """`text` in a temp file beside the output (mode 0644), removed afterwards."""
        try:
            descriptor, name = tempfile.mkstemp(
                prefix=f".{self.output.name}.", suffix=".tmp", dir=self.output.parent
            )
        except OSError as error:
            raise ApplyError(Step.INSTALL, f"cannot write beside {self.output}: {error}") from error
        temp = Path(name)
        try:
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                    stream.write(text)
                    stream.flush()
                    os.fsync(stream.fileno())
                temp.chmod(0o644)
            except OSError as error:
                raise ApplyError(Step.INSTALL, f"cannot write {self.output}: {error}") from error
            yield temp
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def _validate(self, temp: Path) -> None:
        try:
            self.validator.check(temp)
        except OutputValidationError as error:
            message = str(error).replace(str(temp), str(self.output))
            raise ApplyError(Step.VALIDATE, message) from error

    def _restore_last_good(self) -> str:
        """Put the last good text back on disk; returns a note for the failure's reason."""
        if self._last_good_text is None or _read_text(self.output) == self._last_good_text:
            return ""
        try:
            write_atomically(self.output, self._last_good_text)
        except OSError as error:
            return f" (and the last good config could not be written back: {error})"
        return " (the last good config was written back)"


def _replace(temp: Path, output: Path, text: str) -> None:
    try:
        os.replace(temp, output)
    except OSError as error:
        if error.errno not in (errno.EBUSY, errno.EXDEV):
            raise
        write_atomically(output, text)  # a single-file bind mount: rewritten in place


def _certificates_on_disk(cert_dir: Path) -> list[CertificateFile]:
    found = []
    for chain in sorted(cert_dir.glob(f"{SECRET_FILE_PREFIX}*.crt")):
        key = chain.with_suffix(".key")
        with contextlib.suppress(OSError):
            found.append(CertificateFile(chain.stem, "", chain.read_bytes(), key.read_bytes()))
    return found


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
