"""From the model to nginx.conf text, through the templates.

In: a `Config` (core/model.py) and `Settings`. Out: the text of nginx.conf, byte for byte
the same for the same input. views.py turns model records into what the templates lay out
(directives already chosen and quoted; the features' hooks add theirs); rendering.py runs
the Jinja2 templates (the repository's top-level ``templates/``, shipped as
``ingress2nginx.templates``) with the quoting guard as finalize. I/O: reads the templates.
"""
