"""The requests step 2 sends: fresh flowers and fresh mistakes every run, each labelled with what must happen.

Every gateway event carries a secret ``Authorization`` header and a marker in its cookies,
so that a handler that logs either (or the raw event) is caught; every request has its own
request id, so the log line and ``X-Request-Id`` can be matched to it.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from dataclasses import dataclass

from labkit.serving import FEATURES, MAX_BODY_BYTES, MAX_CM

from .events import load_event

REAL_FLOWERS = [  # one per species and some borderline ones, from the Iris data set (cm)
    (5.1, 3.5, 1.4, 0.2), (7.0, 3.2, 4.7, 1.4), (6.3, 3.3, 6.0, 2.5), (4.9, 3.0, 1.4, 0.2), (5.9, 3.0, 5.1, 1.8),
    (6.0, 2.2, 5.0, 1.5), (5.7, 2.8, 4.1, 1.3), (6.7, 3.0, 5.2, 2.3), (4.3, 3.0, 1.1, 0.1), (6.2, 2.9, 4.3, 1.3),
]


@dataclass(frozen=True)
class Case:
    label: str
    kind: str  # "species" (with flower), "edge" (a valid flower in another shape), "mistake", "value"
    event: object
    flower: tuple | None = None  # the measurements a valid request carries
    status: tuple[int, ...] = (200,)


class Secrets:
    """What no log line may contain: a bearer token and a cookie only this run knows."""

    def __init__(self):
        self.token, self.marker = secrets.token_hex(16), secrets.token_hex(12)

    def headers(self) -> dict:
        return {"authorization": f"Bearer {self.token}", "cookie": f"session={self.marker}"}


def gateway(shape: str, hidden: Secrets, **kwargs) -> dict:
    """A gateway event carrying the run's secrets in its headers and cookies."""
    event = load_event(shape, **kwargs)
    event["headers"] = {**event.get("headers", {}), **hidden.headers()}
    if shape == "apigw_http_v2":
        event["cookies"] = [f"session={hidden.marker}"]
    return event


def flower_dict(values) -> dict:
    return dict(zip(FEATURES, values))


def species_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Real flowers and jittered ones, as floats in payload 2.0."""
    picks = draw.sample(REAL_FLOWERS, 5) + [tuple(round(max(0.1, v + draw.uniform(-0.2, 0.2)), 2) for v in draw.choice(
        REAL_FLOWERS)) for _ in range(3)]
    return [Case(f"flower {f}", "species", gateway("apigw_http_v2", hidden, body=flower_dict(f)), f) for f in picks]


def edge_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Valid requests that are easy to refuse by mistake: whole numbers, zero, the other event shapes."""
    whole = tuple(int(round(v)) for v in draw.choice(REAL_FLOWERS))
    zero = (*draw.choice(REAL_FLOWERS)[:3], 0)
    cases = [(f"whole numbers {whole}", "apigw_http_v2", whole, {}), (f"zero petal width {zero}", "apigw_http_v2",
                                                                      zero, {})]
    cases += [(f"payload 1.0 {f}", "apigw_http_v1", f, {}) for f in draw.sample(REAL_FLOWERS, 2)]
    cases += [(f"base64 body {f}", "apigw_http_v2", f, {"base64_encoded": True}) for f in draw.sample(REAL_FLOWERS, 1)]
    out = [Case(label, "edge", gateway(shape, hidden, body=flower_dict(f), **extra), f)
           for label, shape, f, extra in cases]
    direct = draw.choice(REAL_FLOWERS)
    return out + [Case(f"direct invoke {direct}", "edge", flower_dict(direct), direct)]


def mistake_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Requests a client gets wrong: each must answer its 4xx with a JSON error."""
    good = flower_dict(draw.choice(REAL_FLOWERS))
    raw = json.dumps(good)
    dropped = draw.choice(FEATURES)
    huge = json.dumps({**good, "padding": "x" * (MAX_BODY_BYTES + draw.randrange(10, 100_000))})
    made = [("invalid JSON", {"raw_body": raw[:draw.randrange(1, len(raw) - 1)]}, (400,)),
            ("an empty body", {"raw_body": ""}, (400,)), ("a JSON list", {"raw_body": "[1, 2, 3, 4]"}, (400,)),
            (f"no {dropped}", {"body": {k: v for k, v in good.items() if k != dropped}}, (400,)),
            ("an extra field", {"body": {**good, draw.choice(["colour", "id", "petal_colour"]): 1}}, (400,)),
            ("a GET", {"body": good, "method": "GET"}, (405,)), ("a PUT", {"body": good, "method": "PUT"}, (405,)),
            ("an oversized body", {"raw_body": huge}, (413,))]
    cases = [Case(label, "mistake", gateway("apigw_http_v2", hidden, **kwargs), status=status)
             for label, kwargs, status in made]
    broken64 = gateway("apigw_http_v2", hidden, raw_body="not base64!")
    broken64["isBase64Encoded"] = True
    flagged = gateway("apigw_http_v2", hidden, body=good)  # a JSON body the gateway says is base64: it is not
    flagged["isBase64Encoded"] = True
    return cases + [Case("invalid base64", "mistake", broken64, status=(400,)),
                    Case("a plain JSON body marked isBase64Encoded", "mistake", flagged, status=(400,))]


def value_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Numbers that are not measurements of a flower: each must answer 4xx."""
    field = draw.choice(FEATURES)
    good = flower_dict(draw.choice(REAL_FLOWERS))
    values = [("negative", -round(draw.uniform(0.1, 50), 2)), ("above the realistic bound",
                                                             round(draw.uniform(MAX_CM + 1, 1e6), 1)),
              ("far too large", 10 ** draw.randrange(4, 9)), ("a string", str(good[field])), ("true", True),
              ("null", None), ("a list", [good[field]])]
    cases = [Case(f"{field} {label} ({json.dumps(v)})", "value",
                  gateway("apigw_http_v2", hidden, body={**good, field: v}), status=tuple(range(400, 500)))
             for label, v in values]
    for constant in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps({**good, field: 1.5}).replace("1.5", constant)
        cases.append(Case(f"{field} {constant}", "value", gateway("apigw_http_v2", hidden, raw_body=text),
                          status=tuple(range(400, 500))))
    return cases


def all_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """A valid flower first (the cold start), then every kind, shuffled."""
    species = species_cases(draw, hidden)
    rest = species[1:] + edge_cases(draw, hidden) + mistake_cases(draw, hidden) + value_cases(draw, hidden)
    draw.shuffle(rest)
    return [species[0], *rest]


def request_id() -> str:
    return str(uuid.uuid4())
