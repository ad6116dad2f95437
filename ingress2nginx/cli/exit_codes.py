"""Exit codes of the ``ingress2nginx`` command: each means one thing (documented in --help and
the README)."""

from __future__ import annotations

OK = 0
"""Done; problems, if any, were printed on stderr (rejected Ingresses included)."""
PROBLEMS = 1
"""``check`` found problems, or ``render --check``/``--diff`` found the config would change."""
USAGE = 2
"""A bad command line or --config value."""
SOURCE = 3
"""Some input was left out and the config from the rest was still written: a source could not
be read or parsed (a missing file, malformed YAML), or (``render --validate``) nginx refused the
config with some Ingresses. Nothing was written when no Ingress was loaded at all."""
INPUT_LEFT_OUT = SOURCE
"""The name ``render --validate`` uses for 3: nginx refused some Ingresses, left out."""
INVALID_OUTPUT = 4
"""The rendered config failed validation, no Ingress was found responsible; nothing was
written."""
WATCH_START = 5
"""``watch`` could not start (its metrics port is taken)."""
OUTPUT = 6
"""The output, or a certificate or auth file, could not be written."""
INTERRUPTED = 130
"""Interrupted (Ctrl-C) during a one-shot command."""
PIPE_CLOSED = 141
"""The reader of stdout went away (``... | head``): the output was cut short, quietly, as
for a Unix tool ended by SIGPIPE (128 + 13)."""

HELP = """exit codes:
  0    done; problems, if any, were printed on stderr (rejected Ingresses included)
  1    check found problems; render --check/--diff: the config would change
  2    usage error
  3    some input was left out, the rest was still rendered: a source could not be read
       or parsed, or (render --validate) nginx refused some Ingresses (named on stderr);
       nothing is written when no Ingress loaded at all
  4    the rendered config failed validation, no Ingress was found responsible (nothing
       was written)
  5    watch could not start (its metrics port is taken); it exits 0 on SIGTERM/SIGINT
  6    the output (or a certificate or auth file) could not be written
  141  the output was cut short (its reader, such as head, went away)
"""
