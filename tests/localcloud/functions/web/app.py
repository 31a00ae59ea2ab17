"""An HTTP API handler; the ``shape`` query parameter picks the proxy response format it answers with."""

import base64
import json


def handler(event, context):
    shape = (event.get("queryStringParameters") or {}).get("shape", "proxy")
    if shape == "shorthand":  # payload 2.0: any JSON without statusCode is a 200 JSON body
        return {"event": event}
    if shape == "binary":
        return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(b"\x00\x01binary").decode(), "isBase64Encoded": True}
    if shape == "malformed":
        return {"statusCode": "not a number", "body": 42}
    return {"statusCode": 201, "headers": {"Content-Type": "application/json", "X-Shape": "proxy"},
            "cookies": ["flavour=iris; Path=/"], "body": json.dumps({"event": event})}
