"""docs/annotations.md, generated from the registry: ``python -m ingress2nginx.annotations.matrix``.

A test regenerates the text and fails when the committed file differs, so the support matrix
can never drift from the code.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from ingress2nginx.annotations import PREFIX, REGISTRY, Support

DOCUMENT = Path(__file__).resolve().parent.parent.parent / "docs" / "annotations.md"

HEADER = f"""# Annotation support matrix

Generated from the code (`ingress2nginx/annotations/`) by
`python -m ingress2nginx.annotations.matrix`; do not edit by hand.

Every `{PREFIX}*` annotation ingress-nginx defines, and what ingress2nginx does with it:

- **supported**: same value syntax, default and behaviour as ingress-nginx;
- **partly**: supported, with the difference stated;
- **refused**: ignored with a warning naming the Ingress, for the reason stated.

Values are checked against an allowlist before they reach nginx.conf; a value outside it
rejects that Ingress (every other Ingress is still served) with a message naming the
annotation. Annotations with the prefix that ingress-nginx does not define are ignored with a
warning too.
"""


def render() -> str:
    """The whole matrix document."""
    counts = Counter(annotation.support for annotation in REGISTRY.values())
    lines = [HEADER]
    lines.append(
        f"{counts[Support.SUPPORTED]} supported, {counts[Support.PARTLY]} partly,"
        f" {counts[Support.REFUSED]} refused.\n"
    )
    lines.append("| annotation | support | what it does | difference or reason |")
    lines.append("|---|---|---|---|")
    for name, annotation in REGISTRY.items():
        cells = (f"`{name}`", str(annotation.support), annotation.summary, annotation.difference)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write docs/annotations.md (or, with ``--check``, exit 1 when it is stale)."""
    text = render()
    if "--check" in sys.argv[1:]:
        return 0 if DOCUMENT.read_text() == text else 1
    DOCUMENT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
