"""Value types for command-line options: each turns an argument's text into a value or
refuses it with a message argparse prints as a usage error."""

from __future__ import annotations

import argparse


def port(text: str) -> int:
    """A port number, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {port}")
    return port


def version(text: str) -> tuple[int, int, int]:
    """An nginx version, ``1.25`` or ``1.25.1``."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"not a version like 1.25.1: {text!r}")
    major, minor, patch = ([int(part) for part in parts] + [0, 0])[:3]
    return (major, minor, patch)


def port_or_zero(text: str) -> int:
    """A port number, or 0 for "none"."""
    return 0 if text.strip() == "0" else port(text)


def seconds(text: str) -> float:
    """A duration in seconds, 0 to a day."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= seconds <= 86400:
        raise argparse.ArgumentTypeError(f"seconds out of range 0-86400: {text}")
    return seconds
