"""Writing certificates (applying.py): atomic files, one fsync of the folder for all of them.

fsync calls are counted, not timed: thousands of certificates cost one folder sync, and
unchanged files cost none.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

import ingress2nginx.apply.applying
from ingress2nginx.apply.applying import (
    start_writing_certificates,
    write_atomically,
    write_certificates,
)
from ingress2nginx.core.errors import OutputWriteError
from ingress2nginx.model import CertificateFile, Config


def _config(*names: str, content: bytes = b"PEM\n") -> Config:
    files = tuple(CertificateFile(f"tls-default_{n}", f"default/{n}", content, content)
                  for n in names)  # fmt: skip
    return Config((), (), (), False, certificates=files, https=True)


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The descriptors fsync'ed from now on."""
    calls: list[int] = []
    real = os.fsync

    def counting(descriptor: int) -> None:
        calls.append(descriptor)
        real(descriptor)

    monkeypatch.setattr(ingress2nginx.apply.applying.os, "fsync", counting)
    return calls


def test_many_certificates_are_written_with_one_sync_of_their_folder(
    tmp_path: Path, synced: list[int]
) -> None:
    cert_dir = tmp_path / "certs"
    write_certificates(_config(*(f"site{n}" for n in range(20))), cert_dir)
    assert len(synced) == 1
    assert (cert_dir / "tls-default_site7.key").read_bytes() == b"PEM\n"
    assert (cert_dir / "tls-default_site7.key").stat().st_mode & 0o777 == 0o600
    assert (cert_dir / "default-server.crt").exists()
    assert not [name for name in os.listdir(cert_dir) if name.startswith(".")]  # no temp files


def test_unchanged_certificates_are_neither_written_nor_synced(
    tmp_path: Path, synced: list[int]
) -> None:
    cert_dir = tmp_path / "certs"
    write_certificates(_config("a", "b"), cert_dir)
    before = (cert_dir / "tls-default_a.crt").stat().st_ino
    synced.clear()
    write_certificates(_config("a", "b"), cert_dir)
    assert synced == [] and (cert_dir / "tls-default_a.crt").stat().st_ino == before


def test_a_changed_or_dropped_certificate_is_synced_once(tmp_path: Path, synced: list[int]) -> None:
    cert_dir = tmp_path / "certs"
    write_certificates(_config("a", "b"), cert_dir)
    synced.clear()
    write_certificates(_config("a", content=b"NEW\n"), cert_dir)
    assert len(synced) == 1
    assert (cert_dir / "tls-default_a.crt").read_bytes() == b"NEW\n"
    assert not (cert_dir / "tls-default_b.crt").exists()


def test_a_new_certificate_is_private_whatever_the_umask_and_a_dangling_link_is_replaced(
    tmp_path: Path,
) -> None:
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir(mode=0o700)
    (cert_dir / "tls-default_b.crt").symlink_to(tmp_path / "nowhere")
    old = os.umask(0o277)
    try:
        write_certificates(_config("a", "b"), cert_dir)
    finally:
        os.umask(old)
    assert (cert_dir / "tls-default_a.key").stat().st_mode & 0o777 == 0o600
    assert not (cert_dir / "tls-default_b.crt").is_symlink()
    assert (cert_dir / "tls-default_b.crt").read_bytes() == b"PEM\n"
    assert not (tmp_path / "nowhere").exists()


def test_certificates_written_in_another_process_are_there_when_it_is_waited_for(
    tmp_path: Path,
) -> None:
    cert_dir = tmp_path / "certs"
    finish = start_writing_certificates(_config("a", "b"), cert_dir)
    finish()
    assert (cert_dir / "tls-default_b.key").read_bytes() == b"PEM\n"
    assert (cert_dir / "default-server.crt").exists()


def test_certificates_that_cannot_be_written_in_another_process_fail_as_in_this_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("not a folder")
    finish = start_writing_certificates(_config("a"), tmp_path / "file" / "certs")
    with pytest.raises(OutputWriteError, match="cannot write certificates to"):
        finish()


def test_a_process_with_threads_writes_its_certificates_itself_when_asked(
    tmp_path: Path,
) -> None:
    cert_dir = tmp_path / "certs"
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        finish = start_writing_certificates(_config("a"), cert_dir)
        assert not cert_dir.exists()
        finish()
    finally:
        release.set()
        thread.join()
    assert (cert_dir / "tls-default_a.crt").exists()


def test_a_config_without_https_removes_the_keys_an_earlier_one_wrote(tmp_path: Path) -> None:
    cert_dir = tmp_path / "certs"
    write_certificates(_config("a", "b"), cert_dir)
    write_certificates(Config((), (), (), False), cert_dir)
    assert not list(cert_dir.glob("tls-*"))
    assert (cert_dir / "default-server.crt").exists()  # not from a Secret: kept for next time


def test_a_config_without_https_creates_no_certificate_folder(tmp_path: Path) -> None:
    write_certificates(Config((), (), (), False), tmp_path / "certs")
    assert not (tmp_path / "certs").exists()


def test_a_fifo_or_device_output_is_written_to_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomically(fifo, "events {}\n")
        assert os.read(reader, 100) == b"events {}\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
