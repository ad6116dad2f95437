"""Allow ``python -m ingress2nginx``."""

from ingress2nginx.cli import main

raise SystemExit(main())
