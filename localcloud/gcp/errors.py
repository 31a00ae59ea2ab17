"""Google's error bodies: ``{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}``.

The client libraries (google-api-core) turn the HTTP status into their exception class
(404 -> ``NotFound``, 409 -> ``AlreadyExists``, 400 -> ``InvalidArgument`` ...), and keep
the message.
"""

from __future__ import annotations

# HTTP status -> google.rpc.Code name and number, for the codes this stand-in answers
CODES = {400: ("INVALID_ARGUMENT", 3), 403: ("PERMISSION_DENIED", 7), 404: ("NOT_FOUND", 5),
         405: ("UNIMPLEMENTED", 12), 409: ("ALREADY_EXISTS", 6), 412: ("FAILED_PRECONDITION", 9),
         500: ("INTERNAL", 13), 501: ("UNIMPLEMENTED", 12)}


class GoogleError(Exception):
    """An Admin API error, with its HTTP status."""

    def __init__(self, http_status: int, message: str, *, reason: str = ""):
        """``reason``: a google.rpc.ErrorInfo reason (``RESOURCE_PROJECT_INVALID``), sent in ``details``."""
        super().__init__(message)
        self.http_status, self.reason = http_status, reason

    def body(self) -> dict:
        name, _ = CODES[self.http_status]
        details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                    "domain": "googleapis.com", "metadata": {"service": "run.googleapis.com"}}] if self.reason else []
        return {"error": {"code": self.http_status, "message": str(self), "status": name,
                          **({"details": details} if details else {})}}

    def status(self) -> dict:
        """The error as a google.rpc.Status, as a failed long-running operation carries it."""
        _, number = CODES[self.http_status]
        return {"code": number, "message": str(self)}


def not_found(kind: str, name: str) -> GoogleError:
    # Cloud Run: "Resource 'iris-api' of kind 'SERVICE' in region 'asia-south1' in project 'p' does not exist."
    parts = name.split("/")
    return GoogleError(404, f"Resource '{parts[-1]}' of kind '{kind}' in region '{parts[3]}' in project "
                            f"'{parts[1]}' does not exist.")
