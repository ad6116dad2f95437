"""Pytest wiring shared by every test: the nginx skip/fail policy, harness fixtures, options.

- ``nginx_binary`` (session): path of the real nginx; a test using it (directly or through
  ``nginx_runner``) is marked ``nginx`` and is skipped when nginx is missing, or fails when
  ``INGRESS2NGINX_REQUIRE_NGINX=1`` (CI). Tests marked ``@pytest.mark.nginx`` get the same
  policy without the fixture.
- ``echo_backends``: factory of started ``EchoBackend``s, closed at teardown.
- ``nginx_prefix``: a fresh dir nginx workers can use (``tmp_path`` is not: 0700 parent).
- ``nginx_runner``: factory of started ``Nginx``es, stopped at teardown; when the test fails,
  each one's stderr is attached to the report.
- ``--update-golden``: golden tests rewrite their expected files instead of comparing.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path

import pytest
from harness import (
    LOOPBACK,
    EchoBackend,
    EchoBackendFactory,
    Nginx,
    NginxRunner,
    find_nginx,
    make_prefix,
    require_nginx,
)

_NGINX_FIXTURES = {"nginx_binary", "nginx_runner"}
_NGINX_INSTANCES = pytest.StashKey[list[Nginx]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the expected files of golden tests instead of comparing with them",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that use nginx fixtures ``nginx`` so ``-m "not nginx"`` deselects them."""
    for item in items:
        if _NGINX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.nginx)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply the skip/fail policy to every test marked ``nginx``."""
    if item.get_closest_marker("nginx") is not None:
        require_nginx(find_nginx())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, show what each nginx of the test wrote to stderr."""
    report = yield
    instances: list[Nginx] = item.stash.get(_NGINX_INSTANCES, [])
    if report.failed:
        for index, nginx in enumerate(instances):
            report.sections.append((f"nginx #{index} stderr ({nginx.prefix})", nginx.stderr))
    return report


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """Path of the real nginx binary (skip, or fail under INGRESS2NGINX_REQUIRE_NGINX=1)."""
    return require_nginx(find_nginx())


@pytest.fixture
def echo_backends() -> Iterator[EchoBackendFactory]:
    """Factory: ``a, b = echo_backends("a", "b")`` starts named echo backends on loopback."""
    started: list[EchoBackend] = []

    def start(*names: str, address: str = LOOPBACK) -> list[EchoBackend]:
        backends = [EchoBackend(name, address) for name in names]
        for backend in backends:
            started.append(backend.start())
        return backends

    yield start
    for backend in started:
        backend.close()


@pytest.fixture
def nginx_prefix() -> Iterator[Path]:
    """A fresh 0755 dir that nginx workers can use: pass it as ``--runtime-dir`` and prefix.

    Unlike ``tmp_path`` (under a 0700 dir), workers running as ``nobody`` can traverse it.
    """
    path = make_prefix()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def nginx_runner(nginx_binary: str, request: pytest.FixtureRequest) -> Iterator[NginxRunner]:
    """Factory: ``nginx = nginx_runner(conf_text)`` starts nginx and waits for its ports."""
    instances: list[Nginx] = []
    request.node.stash[_NGINX_INSTANCES] = instances

    def run(
        conf_text: str,
        ports: Iterable[int] | None = None,
        *,
        prefix: Path | str | None = None,
        files: Mapping[str, str | bytes] | None = None,
    ) -> Nginx:
        nginx = Nginx(conf_text, ports, prefix=prefix, files=files, binary=nginx_binary)
        instances.append(nginx)
        return nginx.start()

    yield run
    for nginx in instances:
        nginx.stop()
