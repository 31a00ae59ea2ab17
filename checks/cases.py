"""The grader's cases, in one place: fresh flowers and fresh mistakes every run, each labelled with what must happen.

Flowers are never Iris rows a submission could look up: :func:`draw_flowers` samples them each run
from a Gaussian per species fitted to the Iris data, and keeps a flower only when that species is
all but certain (:data:`CONFIDENT`), so its species is known to the grader and to no one else.
Step 1 asks the student's models about such flowers; step 2 sends them to the handler (and step 9,
the same cases as HTTP requests, to the Cloud Run service), where the expected answer is the
grader's own model's (:func:`grader_model`).

A case's label names it in a failure's message, in both languages (:func:`labkit.bilingual.say`).

Every gateway event carries a secret ``Authorization`` header and a marker in its cookies,
so that a handler that logs either (or the raw event) is caught; every request has its own
request id, so the log line and ``X-Request-Id`` can be matched to it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import random
import secrets
import uuid
from dataclasses import dataclass

import numpy as np

from labkit.bilingual import Said, say
from labkit.serving import FEATURES, MAX_BODY_BYTES, MAX_CM

from .events import load_event
from .probes.broken import BrokenModel

CONFIDENT = 0.99  # the least posterior probability of its species a drawn flower keeps
_SEED: list[int | None] = [None]  # the run's seed, when a class batch sets one (:func:`use_seed`)


def use_seed(seed: int | None) -> None:
    """Draw every later case from ``seed`` (a class batch records it, so a regrade can ask the same questions);
    None: fresh cases from the system's randomness, the default."""
    _SEED[0] = seed


def draw(step: int) -> random.Random:
    """The random source of one step's cases: fresh each run, or reproducible from the run's seed."""
    return random.Random() if _SEED[0] is None else random.Random(f"{_SEED[0]}:{step}")


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


@functools.cache
def iris() -> tuple[np.ndarray, np.ndarray]:
    """The 150 public Iris flowers (cm) and their species names."""
    from sklearn.datasets import load_iris

    data = load_iris()
    return data.data, data.target_names[data.target]


@functools.cache
def _gaussians() -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per species of Iris: the mean and covariance of its four measurements, the inverse and log-determinant."""
    X, y = iris()
    names = tuple(sorted(set(y)))
    means = np.array([X[y == name].mean(axis=0) for name in names])
    covariances = np.array([np.cov(X[y == name].T) for name in names])
    return names, means, covariances, np.linalg.inv(covariances), np.linalg.slogdet(covariances)[1]


def species_posterior(flower) -> dict[str, float]:
    """How likely each species is to have grown this flower, under the fitted Gaussians (equal priors)."""
    names, means, _, inverses, logdets = _gaussians()
    offsets = np.asarray(flower, dtype=float) - means
    scores = -0.5 * (np.einsum("si,sij,sj->s", offsets, inverses, offsets) + logdets)
    weights = np.exp(scores - scores.max())
    return dict(zip(names, weights / weights.sum()))


def draw_flowers(draw: random.Random, n: int) -> list[tuple[tuple[float, ...], str]]:
    """``n`` flowers no one has seen, each with its species: sampled from a species' Gaussian, rounded to 0.01 cm,
    kept only when the posterior of one species is at least :data:`CONFIDENT` and it is no Iris row."""
    names, means, covariances, _, _ = _gaussians()
    rng = np.random.default_rng(draw.getrandbits(64))
    public = {tuple(row) for row in iris()[0].tolist()}
    found: list[tuple[tuple[float, ...], str]] = []
    while len(found) < n:
        which = int(rng.integers(len(names)))
        flower = tuple(round(float(v), 2) for v in np.clip(rng.multivariate_normal(means[which], covariances[which]),
                                                           0.1, MAX_CM))
        posterior = species_posterior(flower)
        species = max(posterior, key=posterior.get)
        if posterior[species] >= CONFIDENT and flower not in public:
            found.append((flower, species))
    return found


def some_flowers(draw: random.Random, n: int) -> list[tuple[float, ...]]:
    return [flower for flower, _ in draw_flowers(draw, n)]


@functools.cache
def grader_model():
    """The grader's own model (never one a submission saved): the lab's recipe fitted on all of Iris; and its pickle
    for the sandbox. Steps 2 and 9 expect its answers."""
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(X, y)
    blob = io.BytesIO()
    joblib.dump(model, blob)
    return model, blob.getvalue()


def model_files() -> dict[str, bytes]:
    """The models a handler or service is imported over in the sandbox: the grader's, and one that fails on every
    prediction (:class:`~checks.probes.broken.BrokenModel`)."""
    import joblib

    broken = io.BytesIO()
    joblib.dump(BrokenModel(), broken)
    return {"_task/model.joblib": grader_model()[1], "_broken/model.joblib": broken.getvalue()}


def species_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Flowers drawn this run, as floats in payload 2.0."""
    return [Case(say(f"flower {f}", f"ফুল {f}"), "species", gateway("apigw_http_v2", hidden, body=flower_dict(f)), f)
            for f in some_flowers(draw, 8)]


def edge_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Valid requests that are easy to refuse by mistake: whole numbers, zero, the other event shapes."""
    flowers = some_flowers(draw, 6)
    whole = tuple(int(round(v)) for v in flowers[0])
    zero = (*flowers[1][:3], 0)
    cases = [(say(f"whole numbers {whole}", f"পূর্ণ সংখ্যা {whole}"), "apigw_http_v2", whole, {}),
             (say(f"zero petal width {zero}", f"petal width শূন্য {zero}"), "apigw_http_v2", zero, {})]
    cases += [(say(f"payload 1.0 {f}", f"payload 1.0 {f}"), "apigw_http_v1", f, {}) for f in flowers[2:4]]
    cases += [(say(f"base64 body {f}", f"base64 body {f}"), "apigw_http_v2", f, {"base64_encoded": True})
              for f in flowers[4:5]]
    out = [Case(label, "edge", gateway(shape, hidden, body=flower_dict(f), **extra), f)
           for label, shape, f, extra in cases]
    direct = flowers[5]
    return out + [Case(say(f"direct invoke {direct}", f"সরাসরি invoke {direct}"), "edge", flower_dict(direct), direct)]


def mistake_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Requests a client gets wrong: each must answer its 4xx with a JSON error."""
    good = flower_dict(some_flowers(draw, 1)[0])
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
    flagged = gateway("apigw_http_v2", hidden, body=good)  # a JSON body the gateway says is base64: it is not
    flagged["isBase64Encoded"] = True
    return cases + [Case(say("invalid base64", "ভুল base64"), "mistake", broken64, status=(400,)),
                    Case(say("a plain JSON body marked isBase64Encoded", "isBase64Encoded চিহ্ন দেওয়া সাধারণ JSON body"),
                         "mistake", flagged, status=(400,))]


def value_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Numbers that are not measurements of a flower: each must answer 4xx."""
    field = draw.choice(FEATURES)
    good = flower_dict(some_flowers(draw, 1)[0])
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


def failing_model_cases(draw: random.Random, hidden: Secrets) -> list[Case]:
    """Valid flowers for a model that fails on every prediction: each must answer 500 without internals."""
    return [Case(say("a flower", "একটা ফুল"), "species", gateway("apigw_http_v2", hidden, body=flower_dict(f)), f, status=(500,))
            for f in some_flowers(draw, 2)]


def http_request(case: Case, hidden: Secrets, trace_id: str) -> dict | None:
    """The case as the HTTP request a client sends to a server (Cloud Run), or None when it has no such form (a
    direct invoke, a body API Gateway could not have base64-encoded). ``trace_id`` names it, as Cloud Run's
    ``X-Cloud-Trace-Context`` does."""
    event = case.event
    if not isinstance(event, dict) or ("requestContext" not in event and "httpMethod" not in event):
        return None
    method = (event.get("requestContext", {}).get("http", {}).get("method") or event.get("httpMethod") or "POST")
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    headers = {"content-type": "application/json", "x-cloud-trace-context": f"{trace_id}/1;o=1", **hidden.headers()}
    return {"method": method.upper(), "path": "/predict", "headers": headers, "body": body}


def request_id() -> str:
    return str(uuid.uuid4())


def trace_id() -> str:
    return uuid.uuid4().hex
