"""Thousands of random events and bodies: the handler never answers 5xx or raises."""

from __future__ import annotations

import json
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.events import SHAPES, load_event

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
requests = st.one_of(
    json_values,
    st.fixed_dictionaries({f: st.floats() | st.integers() | json_values for f in FEATURES}),
    st.fixed_dictionaries({f: st.floats() for f in FEATURES}, optional={"extra": json_values}),
)
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_client_answer(app, event):
    response = app.handler(event, SimpleNamespace(aws_request_id="fuzz"))
    assert response["statusCode"] < 500, response
    body = json.loads(response["body"])
    assert ("prediction" in body) if response["statusCode"] == 200 else isinstance(body["error"], str)


@FUZZ
@given(shape=st.sampled_from(SHAPES), request=requests, b64=st.booleans(), method=st.sampled_from([None, "POST", "GET", "put"]))
def test_random_requests(app, shape, request, b64, method):
    event = load_event(shape, body=request, base64_encoded=b64, method=None if shape == "direct_invoke" else method)
    assert_client_answer(app, event)


@FUZZ
@given(shape=st.sampled_from(SHAPES[:2]), raw=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
       b64=st.booleans())
def test_random_body_strings(app, shape, raw, b64):
    event = {**load_event(shape), "body": raw, "isBase64Encoded": b64}
    assert_client_answer(app, event)


@FUZZ
@given(event=json_values | st.dictionaries(st.sampled_from(["body", "requestContext", "httpMethod", "isBase64Encoded", "version"]),
                                          json_values, max_size=5))
def test_random_event_shapes(app, event):
    assert_client_answer(app, event)
