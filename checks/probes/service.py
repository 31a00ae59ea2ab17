"""Step 9 in the child: import service.py over a model folder and send its FastAPI app HTTP requests, as uvicorn would.

``service.py`` imports ``app`` (step 2's module) by its top-level name; here that name is a fresh
copy of the submission's ``app.py`` imported over the question's model folder, so each import is a
new Cloud Run instance. A request goes straight to the ASGI application (no socket, no network):
what comes back is what uvicorn would have sent, including the 500 it answers when the app raises.
"""

from __future__ import annotations

import asyncio
import os
import sys

from .harness import call, import_module, submission_path

_services: dict[str, object] = {}  # task root -> the service module imported over it


def imported(args: dict) -> dict:
    """A fresh app.py and service.py over one model folder (``task_root``): a new instance."""
    task_root = args["task_root"]
    os.environ["LAMBDA_TASK_ROOT"] = str(submission_path() / task_root)
    name = task_root.strip("_")

    def load():
        sys.modules["app"] = import_module("app", alias=f"app_service_{name}")
        return import_module("service", alias=f"service_{name}")

    outcome = call(load)
    _services[task_root] = outcome.pop("value", None)
    return outcome


def request(args: dict) -> dict:
    """One HTTP request to the service imported over ``task_root``: ``{"statusCode", "headers", "body"}``."""
    module = _services.get(args["task_root"])
    application = getattr(module, "service", None)
    body = args["body"].encode("utf-8", "surrogatepass")
    headers = {**args["headers"], "content-length": str(len(body))}
    return call(lambda: asyncio.run(_exchange(application, args["method"], args["path"], headers, body)))


async def _exchange(application, method: str, path: str, headers: dict[str, str], body: bytes) -> dict:
    """One request and its whole response over ASGI 3 (the request body in one message)."""
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1"))
                                          for k, v in headers.items()],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": {}}
    finished, delivered = asyncio.Event(), False
    start: dict | None = None
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()  # the client stays until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body"):
                finished.set()

    try:
        await application(scope, receive, send)
    except Exception:  # noqa: BLE001 - uvicorn logs it and, if nothing was sent yet, answers 500
        if start is None:
            return {"statusCode": 500, "headers": {"content-type": "text/plain; charset=utf-8"},
                    "body": "Internal Server Error"}
    if start is None:
        raise RuntimeError("the application returned without a response")
    found: dict[str, str] = {}
    for key, value in start.get("headers", []):
        name = bytes(key).decode("latin-1").lower()
        found[name] = ", ".join(filter(None, (found.get(name), bytes(value).decode("latin-1"))))
    return {"statusCode": int(start["status"]), "headers": found,
            "body": b"".join(chunks).decode("utf-8", "replace")}


OPS = {"service.import": imported, "service.request": request}
