"""``--endpoints``, ``--dns-listen`` and ``--dns-unavailable-port`` on the command line."""

from __future__ import annotations

import pytest
from e2e import ingress, path, render, rule, service, to

from ingress2nginx.cli.main import main

OBJECTS = [ingress("web", rules=[rule("web.test", path("/", to("web")))]), service("web")]


def test_one_shot_auto_is_static_and_slices_is_an_old_name_of_static() -> None:
    auto = render(OBJECTS, "--nginx-version", "1.30.6")
    static = render(OBJECTS, "--nginx-version", "1.30.6", "--endpoints", "static")
    slices = render(OBJECTS, "--nginx-version", "1.30.6", "--endpoints", "slices")
    assert auto.config == static.config == slices.config
    assert " resolve;" not in auto.config
    assert "--endpoints slices is now called static" in slices.messages


def test_dns_mode_names_the_responder_and_the_stand_in() -> None:
    rendered = render(
        OBJECTS, "--endpoints", "dns", "--dns-listen", "127.0.0.1:5400",
        "--dns-unavailable-port", "5401",
    )  # fmt: skip
    assert rendered.code == 0, rendered.messages
    assert "resolver 127.0.0.1:5400 valid=1s;" in rendered.config
    assert "listen 127.0.0.1:5401;" in rendered.config
    assert "server web.default.svc.cluster.local service=_80._tcp resolve;" in rendered.config


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoints", "dns", "--nginx-version", "1.26.0"], "needs nginx 1.27.3 or later"),
        (["--endpoints", "dns", "--dns-listen", "localhost:53"], "--dns-listen"),
        (["--dns-listen", "127.0.0.1"], "--dns-listen"),
        (["--endpoints", "service-dns"], "only used with --from-cluster"),
    ],
)
def test_options_that_cannot_work_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "-", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
