"""IAM policies of services: who may invoke them.

``gcloud run deploy --allow-unauthenticated`` (or ``services add-iam-policy-binding
--member=allUsers --role=roles/run.invoker``) grants ``roles/run.invoker`` to ``allUsers``.
Without that binding Cloud Run answers unauthenticated requests with its 403 page; the
stand-in cannot verify Google identity tokens, so it admits only services open to allUsers.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading

INVOKER = "roles/run.invoker"
PUBLIC = "allUsers"


def etag(policy: dict) -> str:
    """A policy's etag: bytes in protobuf, base64 in JSON."""
    bindings = json.dumps(policy.get("bindings", []), sort_keys=True).encode()
    return base64.b64encode(hashlib.sha256(bindings).digest()[:8]).decode()


class Policies:
    def __init__(self):
        self._policies: dict[str, dict] = {}
        self._lock = threading.Lock()

    def get(self, resource: str) -> dict:
        with self._lock:
            policy = copy.deepcopy(self._policies.get(resource, {"bindings": []}))
        policy = {"version": policy.get("version", 1), "bindings": policy["bindings"]}
        return {**policy, "etag": etag(policy)}

    def set(self, resource: str, policy: dict) -> dict:
        bindings = [{"role": b["role"], "members": sorted(set(b.get("members", [])))}
                    for b in policy.get("bindings", []) if b.get("members")]
        with self._lock:
            self._policies[resource] = {"version": policy.get("version") or 1, "bindings": bindings}
        return self.get(resource)

    def forget(self, resource: str) -> None:
        with self._lock:
            self._policies.pop(resource, None)

    def public(self, resource: str) -> bool:
        """Whether allUsers may invoke the service."""
        return any(b["role"] == INVOKER and PUBLIC in b["members"] for b in self.get(resource)["bindings"])

    def permissions(self, resource: str, asked: list[str]) -> list[str]:
        """testIamPermissions for an anonymous caller: run.routes.invoke when the service is public."""
        return [p for p in asked if p == "run.routes.invoke" and self.public(resource)]


# Cloud Run's answer to a request it does not let in (text/html)
FORBIDDEN = """<html><head>
<meta http-equiv="content-type" content="text/html;charset=utf-8">
<title>403 Forbidden</title>
</head>
<body text=#000000 bgcolor=#ffffff>
<h1>Error: Forbidden</h1>
<h2>Your client does not have permission to get URL <code>{path}</code> from this server.</h2>
<h2></h2>
</body></html>
"""
