"""Putting a rendered config in place: write, validate, reload, and find what nginx refuses.

In: rendered text, the certificate and Secret files it names, and a validator command. Out:
files written atomically under --output and --cert-dir (applying.py), the result of
``nginx -t`` or crossplane (validators.py), a reload or restart of nginx
(reloading.py, restarting.py), and, when nginx refuses a config, the Ingresses responsible
(isolating.py searches, trials.py renders and validates each trial). I/O: files, processes.
"""
