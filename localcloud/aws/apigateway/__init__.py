"""API Gateway v2: control plane fixes (``api``) and the HTTP API data plane (``gateway``, ``routes``, ``events``)."""
