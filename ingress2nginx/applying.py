"""The edge where a rendered config meets the disk and nginx: write, validate.

Writing is atomic (a temp file beside the target, fsync, rename) so nginx never reads half a
config. Validation runs the real ``nginx -t`` on a copy when nginx is installed, and
otherwise checks the structure with crossplane, the parser nginx's own tooling uses.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import crossplane  # type: ignore[import-untyped]

from ingress2nginx.errors import OutputValidationError

NGINX_TIMEOUT_SECONDS = 60


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` so readers see the old or the new file, never a mix.

    When the target is a single-file bind mount, where rename fails with EBUSY or EXDEV,
    fall back to rewriting it in place.
    """
    path = Path(path)
    directory = path.parent
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as temp:
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
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
