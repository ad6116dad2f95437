"""Reports on input: explain, lint, the migration report, and the layout of Problems.

In: an `Inventory`, the `Config` normalizing gives and its Problems. Out: text or JSON for
people and tools: ``explain`` (explaining.py: which Ingress path became which location and
why), lint findings (linting.py), ``migration-report`` (migrating.py, with other
controllers' annotations from other_controllers.py), and Problems as text, JSON or GitHub
annotations (reporting.py). No I/O: commands pass in what was read.
"""
