"""The real-world-style corpus (tests/corpus/): manifests as Helm charts, cert-manager,
oauth2-proxy guides, legacy repositories and migrations leave them. Each file renders with
exactly the messages its header expects (``# render:`` lines, in order), ``check`` adds
exactly its ``# check:`` lines, every Ingress not expected to be rejected is served, and
the real ``nginx -t`` accepts the output, the files it names written under --runtime-dir.

Certificates for ``# tls-secret: namespace/name host,...`` lines are made at test time
(tests/tls_secrets.py), so no key is kept in the repository.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from golden_cases import run_cli
from harness import make_prefix, test_config
from tls_secrets import tls_secret

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.rglob("*.yaml"))
_SERVED = re.compile(r"(\d+) Ingress\(es\) (?:would be )?served")


def header(file: Path, key: str) -> list[str]:
    """The values of the file's ``# key: value`` header lines, in order."""
    prefix = f"# {key}: "
    return [line[len(prefix) :] for line in file.read_text().splitlines()
            if line.startswith(prefix)]  # fmt: skip


@pytest.fixture
def prefix() -> Iterator[Path]:
    folder = make_prefix()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def sources(file: Path, prefix: Path) -> list[str]:
    """The file, and a file beside it holding the TLS Secrets its header asks for."""
    secrets = []
    for line in header(file, "tls-secret"):
        reference, hosts = line.split()
        namespace, name = reference.split("/")
        secrets.append(tls_secret(namespace, name, hosts.split(",")))
    generated = prefix / "tls-secrets.yaml"
    generated.write_text(yaml.safe_dump_all(secrets))
    return [str(file), str(generated)]


def ingress_count(file: Path) -> int:
    documents = yaml.safe_load_all(file.read_text())
    return sum(1 for document in documents if (document or {}).get("kind") == "Ingress")


def test_the_corpus_covers_many_real_world_styles() -> None:
    assert 15 <= len(FILES) <= 30
    assert len({file.parent.name for file in FILES}) >= 6
    for file in FILES:
        assert file.read_text().startswith("# "), f"{file.name} says what it is first"


@pytest.mark.nginx
@pytest.mark.parametrize("file", FILES, ids=lambda file: str(file.relative_to(CORPUS)))
def test_each_manifest_renders_as_expected_and_passes_nginx_t(
    file: Path, prefix: Path, nginx_binary: str
) -> None:
    inputs = sources(file, prefix)
    rendered = run_cli(["render", *inputs, "--runtime-dir", str(prefix)])
    assert rendered.code == 0, rendered.messages
    assert rendered.messages.splitlines() == header(file, "render")
    accepted, output = test_config(rendered.config, prefix=prefix, binary=nginx_binary)
    assert accepted, output

    checked = run_cli(["check", *inputs, "--runtime-dir", str(prefix), "--warn-expiry", "0"])
    lines = checked.messages.splitlines()
    summary = lines.pop()
    assert [line for line in lines if line not in rendered.messages.splitlines()] == header(
        file, "check"
    )
    rejected = sum(1 for line in header(file, "render") if line.endswith(": rejected: not"
                   " rendered (every other Ingress still is)"))  # fmt: skip
    served = _SERVED.search(summary)
    assert served is not None, summary
    assert int(served.group(1)) == ingress_count(file) - rejected
