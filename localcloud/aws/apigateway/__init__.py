"""API Gateway v2: control plane fixes (``api``), the HTTP API data plane (``gateway``, ``routes``, ``events``), and
its share of the edge (``urls``)."""
