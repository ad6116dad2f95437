"""Reading input from files: manifests, and the global options of ``--config``.

In: paths (files, directories, ``-`` for stdin) and YAML or JSON text. Out: an `Inventory`
of `Manifest` records, every Ingress converted to ``networking.k8s.io/v1`` (converting.py),
each object with the file and line it came from (locating.py finds a field's line), plus
`GlobalConfig` from an ingress-nginx ConfigMap (configuring.py). Reading the Kubernetes API
is the other source, kept apart in cluster/. I/O: reads files.
"""
