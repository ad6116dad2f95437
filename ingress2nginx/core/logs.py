"""Structured logs for the long-running ``watch`` command, on stderr.

One-shot commands print plain messages; a sidecar's log is read by machines as much as by
people, so each line is one event with named fields: ``--log-format json`` gives one JSON
object a line, ``--log-format text`` a readable ``time level message key=value`` line.
Fields are passed with `fields`; only values this program produced are logged (paths,
identities, reasons), never Secret data or rendered config text.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, TextIO

LOGGER = "ingress2nginx"
FORMATS = ("text", "json")


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.info("applied", extra=fields(identity=...))``."""
    return {"fields": values}


def configure(log_format: str, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send the ``ingress2nginx`` loggers to `stream` (stderr) in the given format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger = logging.getLogger(LOGGER)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _level(record: logging.LogRecord) -> str:
    return record.levelname.lower().replace("critical", "error")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": _timestamp(record),
            "level": _level(record),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(getattr(record, "fields", {}))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2025-01-02T03:04:05.678Z info message key=value ...`` (values quoted when needed)."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), _level(record), record.getMessage()]
        for name, value in getattr(record, "fields", {}).items():
            parts.append(f"{name}={_text_value(value)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: Any) -> str:
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "='):
        return text
    return json.dumps(text, ensure_ascii=False)
