"""The requests step 2 sends: fresh flowers and fresh mistakes every run, each labelled with what must happen.

A case's label names it in a failure's message, in both languages (:func:`labkit.bilingual.say`).

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

from labkit.bilingual import Said, say
from labkit.serving import FEATURES, MAX_BODY_BYTES, MAX_CM

from .events import load_event

REAL_FLOWERS = [  # one per species and some borderline ones, from the Iris data set (cm)
    (5.1, 3.5, 1.4, 0.2), (7.0, 3.2, 4.7, 1.4), (6.3, 3.3, 6.0, 2.5), (4.9, 3.0, 1.4, 0.2), (5.9, 3.0, 5.1, 1.8),
    (6.0, 2.2, 5.0, 1.5), (5.7, 2.8, 4.1, 1.3), (6.7, 3.0, 5.2, 2.3), (4.3, 3.0, 1.1, 0.1), (6.2, 2.9, 4.3, 1.3),
]


@dataclass(frozen=True)
class Case:
    label: Said  # English, carrying its Bengali
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
    return [Case(say(f"flower {f}", f"ফুল {f}"), "species", gateway("apigw_http_v2", hidden, body=flower_dict(f)), f) for f in picks]


def edge_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Valid requests that are easy to refuse by mistake: whole numbers, zero, the other event shapes."""
    whole = tuple(int(round(v)) for v in draw.choice(REAL_FLOWERS))
    zero = (*draw.choice(REAL_FLOWERS)[:3], 0)
    cases = [(say(f"whole numbers {whole}", f"পূর্ণ সংখ্যা {whole}"), "apigw_http_v2", whole, {}),
             (say(f"zero petal width {zero}", f"petal width শূন্য {zero}"), "apigw_http_v2", zero, {})]
    cases += [(say(f"payload 1.0 {f}", f"payload 1.0 {f}"), "apigw_http_v1", f, {}) for f in draw.sample(REAL_FLOWERS, 2)]
    cases += [(say(f"base64 body {f}", f"base64 body {f}"), "apigw_http_v2", f, {"base64_encoded": True})
              for f in draw.sample(REAL_FLOWERS, 1)]
    out = [Case(label, "edge", gateway(shape, hidden, body=flower_dict(f), **extra), f)
           for label, shape, f, extra in cases]
    direct = draw.choice(REAL_FLOWERS)
    return out + [Case(say(f"direct invoke {direct}", f"সরাসরি invoke {direct}"), "edge", flower_dict(direct), direct)]


def mistake_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Requests a client gets wrong: each must answer its 4xx with a JSON error."""
    good = flower_dict(draw.choice(REAL_FLOWERS))
    raw = json.dumps(good)
    dropped = draw.choice(FEATURES)
    huge = json.dumps({**good, "padding": "x" * (MAX_BODY_BYTES + draw.randrange(10, 100_000))})
    made = [(say("invalid JSON", "ভুল JSON"), {"raw_body": raw[:draw.randrange(1, len(raw) - 1)]}, (400,)),
            (say("an empty body", "খালি body"), {"raw_body": ""}, (400,)),
            (say("a JSON list", "একটা JSON list"), {"raw_body": "[1, 2, 3, 4]"}, (400,)),
            (say(f"no {dropped}", f"{dropped} নেই"), {"body": {k: v for k, v in good.items() if k != dropped}}, (400,)),
            (say("an extra field", "একটা বাড়তি field"),
             {"body": {**good, draw.choice(["colour", "id", "petal_colour"]): 1}}, (400,)),
            (say("a GET", "একটা GET"), {"body": good, "method": "GET"}, (405,)),
            (say("a PUT", "একটা PUT"), {"body": good, "method": "PUT"}, (405,)),
            (say("an oversized body", "মাত্রাছাড়া বড় body"), {"raw_body": huge}, (413,))]
    cases = [Case(label, "mistake", gateway("apigw_http_v2", hidden, **kwargs), status=status)
             for label, kwargs, status in made]
    broken64 = gateway("apigw_http_v2", hidden, raw_body="not base64!")
    broken64["isBase64Encoded"] = True
    return cases + [Case(say("invalid base64", "ভুল base64"), "mistake", broken64, status=(400,))]


def value_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Numbers that are not measurements of a flower: each must answer 4xx."""
    field = draw.choice(FEATURES)
    good = flower_dict(draw.choice(REAL_FLOWERS))
    values = [(say("negative", "negative"), -round(draw.uniform(0.1, 50), 2)),
              (say("above the realistic bound", "বাস্তব সীমার বেশি"), round(draw.uniform(MAX_CM + 1, 1e6), 1)),
              (say("far too large", "অনেক বেশি বড়"), 10 ** draw.randrange(4, 9)),
              (say("a string", "একটা string"), str(good[field])), (say("true", "true"), True), (say("null", "null"), None),
              (say("a list", "একটা list"), [good[field]])]
    cases = [Case(say(f"{field} {label} ({json.dumps(v)})", f"{field} {label.bn} ({json.dumps(v)})"), "value",
                  gateway("apigw_http_v2", hidden, body={**good, field: v}), status=tuple(range(400, 500)))
             for label, v in values]
    for constant in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps({**good, field: 1.5}).replace("1.5", constant)
        cases.append(Case(say(f"{field} {constant}", f"{field} {constant}"), "value", gateway("apigw_http_v2", hidden, raw_body=text),
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
