"""Allow ``python -m ingress2nginx``."""

from ingress2nginx.cli.main import main

raise SystemExit(main())
