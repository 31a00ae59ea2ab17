"""The edge: the one HTTP endpoint (route table, Host and cross-site guard, keep-alive server, WSGI helpers)."""
