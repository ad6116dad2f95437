"""From manifests to the model: validate, classify, route, resolve backends and TLS.

In: an `Inventory` and `Settings`. Out: a frozen `Config` (core/model.py) and the Problems
found, deterministic for the same input. normalizing.py is the entry point: it classifies
(ingress class), validates each Ingress (validating.py), reads its annotations into
`IngressOptions` (features/), resolves Services and endpoints into upstreams (backends.py,
endpoints.py), TLS Secrets into certificates (securing.py, certificates.py), and builds
servers and locations with ingress-nginx's precedence (routing.py, servers.py, locations.py,
paths.py). lastgood.py keeps an Ingress's last good version for watch mode. No I/O.
"""
