"""The edge: the one HTTP endpoint (route table and guard, cheroot with its bounds, RFC 9112 framing, WSGI helpers)."""
