"""The command line: parse arguments, run a command, exit with a documented code.

In: argv. Out: the effect of ``render``, ``check``, ``explain``, ``migration-report`` or
``watch`` and an exit code (exit_codes.py). main.py is the entry point (the console script
and ``python -m ingress2nginx``); options.py and argtypes.py parse arguments into `Settings`;
commands.py wires the one-shot commands through the stages; sidecar.py wires watch mode,
from files or the cluster; privileges.py checks who nginx's workers run as. This layer may
import lazily inside functions, so that start-up stays fast.
"""
