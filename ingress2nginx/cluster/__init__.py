"""The Kubernetes API: the only package that imports the ``kubernetes`` client.

In: a kubeconfig or the in-cluster service account (connecting.py). Out: the same
`Inventory` the file sources give (loading.py lists Ingresses, Services, EndpointSlices and
the Secrets they name), an informer-style cache kept current by watches (watching.py,
caching.py), and what goes back to the API: Ingress status addresses (publishing.py) and
Events (events.py). I/O: the network.
"""
