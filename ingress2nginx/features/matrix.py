"""docs/annotations.md, generated from the registry: ``python -m ingress2nginx.features.matrix``.

A test regenerates the text and fails when the committed file differs, so the support matrix
can never drift from the code.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from ingress2nginx.features import PREFIX, REGISTRY, Annotation, OnInvalid, Support

DOCUMENT = Path(__file__).resolve().parent.parent.parent / "docs" / "annotations.md"

HEADER = f"""# Annotation support matrix

Generated from the code (`ingress2nginx/features/`) by
`python -m ingress2nginx.features.matrix`; do not edit by hand.

Every `{PREFIX}*` annotation ingress-nginx defines, and what ingress2nginx does with it:

- **supported**: same value syntax, default and behaviour as ingress-nginx;
- **partly**: supported, with the difference stated;
- **refused**: ignored with a warning naming the Ingress, for the reason stated.

Values are checked against an allowlist before they reach nginx.conf. What a value outside it
does is the column *invalid value*, as in ingress-nginx, which logs such a value and goes on:

- **ignored**: a warning names the Ingress and the annotation, the annotation's default
  applies, and the Ingress is still served (a list with bad entries, such as
  cors-allow-origin, drops those entries and keeps the rest);
- **paths answer 503**: where ignoring the value would leave the paths less protected than
  asked for (authentication, certificates, source ranges), an error names the Ingress and the
  annotation and its paths answer 503, as ingress-nginx's denied locations do; they stay
  claimed, so no other Ingress's path serves them unprotected.

An invalid value never reaches nginx.conf. Annotations with the prefix that ingress-nginx does
not define are ignored with a warning too.
"""

_ON_INVALID = {
    OnInvalid.IGNORE: "ignored, default applies",
    OnInvalid.DENY: "paths answer 503",
}


def render() -> str:
    """The whole matrix document."""
    counts = Counter(annotation.support for annotation in REGISTRY.values())
    lines = [HEADER]
    lines.append(
        f"{counts[Support.SUPPORTED]} supported, {counts[Support.PARTLY]} partly,"
        f" {counts[Support.REFUSED]} refused.\n"
    )
    lines.append("| annotation | support | what it does | invalid value | difference or reason |")
    lines.append("|---|---|---|---|---|")
    for name, annotation in REGISTRY.items():
        cells = (
            f"`{name}`",
            str(annotation.support),
            annotation.summary,
            invalid_value(annotation),
            annotation.difference,
        )
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def invalid_value(annotation: Annotation) -> str:
    """What the matrix says a value outside the allowlist does."""
    if annotation.support is Support.REFUSED:
        return "ignored (any value)"
    return _ON_INVALID[annotation.on_invalid]


def main() -> int:
    """Write docs/annotations.md (or, with ``--check``, exit 1 when it is stale)."""
    text = render()
    if "--check" in sys.argv[1:]:
        return 0 if DOCUMENT.read_text() == text else 1
    DOCUMENT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
