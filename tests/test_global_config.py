"""--config values nginx would refuse are refused when the file is read, naming the key."""

from __future__ import annotations

import pytest

from ingress2nginx.configuring import parse_global_config


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"ssl-session-cache-size": "4k"}, "ssl-session-cache-size"),
        ({"max-worker-connections": "2"}, "max-worker-connections"),
        ({"proxy-buffer-size": "0"}, "proxy-buffer-size must not be 0"),
        ({"proxy-buffers-number": "1"}, "at least 2 proxy buffers"),
        ({"proxy-buffers-number": "3"}, "raise proxy-buffers-number"),
    ],
)
def test_a_value_nginx_would_refuse_is_an_error_naming_it(
    options: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        parse_global_config(options, "config.yaml")


def test_values_nginx_takes_are_read() -> None:
    config, warnings = parse_global_config(
        {"ssl-session-cache-size": "512k", "max-worker-connections": "16",
         "proxy-buffers-number": "4", "proxy-buffer-size": "8k"}, "config.yaml"
    )  # fmt: skip
    assert warnings == []
    assert (config.ssl_session_cache_size, config.max_worker_connections) == ("512k", 16)
    assert (config.proxy_buffers_number, config.proxy_buffer_size) == (4, "8k")
