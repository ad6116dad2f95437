"""The records and primitives every stage shares: the bottom layer, importing no other.

Out: the manifests as loaded (objects.py: `Manifest`, `Inventory`), the problems found on the
way (errors.py), the command line's settings (settings.py), the one quoting function and the
directive records that write nginx text (quoting.py, directives.py), and small shared helpers
(grammar.py, hashing.py, secret_files.py, logs.py, collecting.py). The model built from them
is ingress2nginx/model.py, one layer up, since it holds the features' option records. No I/O
beyond the log stream.
"""
