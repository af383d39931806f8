"""The local stack: infra/template.yaml served by moto, an HTTP gateway and in-process handlers.

Nothing here is deployed: the package is imported by the ``callproof`` CLI and by tests only.
"""
