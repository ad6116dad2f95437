"""ingress2nginx: Kubernetes Ingress resources in, a plain validated nginx.conf out."""

__version__ = "0.1.0"
