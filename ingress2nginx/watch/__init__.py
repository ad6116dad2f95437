"""Watch mode: follow the sources and keep nginx's config current.

In: changes (file events from files.py, or the API's events through cluster/), debounced
(debouncing.py). Out: one render, validation and reload per settled change (watching.py),
with a grace period on shutdown (grace.py), and health, readiness and Prometheus metrics over
HTTP (health.py). I/O: files, sockets, processes.
"""
