"""Part 2: Lambda's scaling model (issue 4, items 3 and 4): concurrency, limits, scale to zero, load."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from polling import wait_for

pytestmark = pytest.mark.integration


def parallel(count: int, call) -> list:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def test_concurrent_requests_start_one_environment_each(lab):
    name = lab.function("faults")
    answers = parallel(4, lambda: lab.invoke(name, {"fault": "sleep", "seconds": 0.8})[1])
    assert all("FunctionError" not in answer for answer in answers)
    counters = lab.counters(name)
    assert counters["environments_started"] == counters["cold_starts"] == 4
    assert counters["live_environments"] == 4 and counters["busy"] == 0
    for _ in range(4):
        lab.invoke(name)
    assert lab.counters(name)["environments_started"] == 4  # sequential calls reuse warm environments


def test_reserved_concurrency_throttles(lab):
    name = lab.function("faults")
    lab.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    no_retries = lab.cloud.client("lambda", config=Config(retries={"total_max_attempts": 1}))  # boto3 retries 429s

    def call():
        try:
            return no_retries.invoke(FunctionName=name, Payload=b'{"fault": "sleep", "seconds": 1}')["StatusCode"]
        except ClientError as error:
            assert error.response["Error"]["Message"] == "Rate Exceeded."
            return error.response["Error"]["Code"], error.response["Reason"]

    outcomes = parallel(2, call)
    assert sorted(outcomes, key=str) == [("TooManyRequestsException", "ReservedFunctionConcurrentInvocationLimitExceeded"),
                                         200]
    assert lab.counters(name)["throttles"] == 1

    lab.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    url = lab.http_api(name, route_key="$default")
    assert requests.get(url).status_code == 500  # API Gateway: Lambda rejected the invoke
    lab.lam.delete_function_concurrency(FunctionName=name)
    assert requests.get(url).status_code == 200


def test_provisioned_concurrency_keeps_environments_initialised(lab):
    name = lab.function("echo")
    version = lab.lam.publish_version(FunctionName=name)["Version"]
    lab.lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    with pytest.raises(ClientError) as unpublished:
        lab.lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST",
                                                   ProvisionedConcurrentExecutions=1)
    assert unpublished.value.response["Error"]["Code"] == "InvalidParameterValueException"

    put = lab.lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                                     ProvisionedConcurrentExecutions=2)
    assert put["Status"] == "IN_PROGRESS" and put["RequestedProvisionedConcurrentExecutions"] == 2
    wait_for(lambda: lab.lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")["Status"] == "READY",
             60, what="provisioned concurrency READY")
    counters = lab.counters(name)
    assert counters["live_environments"] == 2 and counters["cold_starts"] == 0
    assert all(env["provisioned"] and env["version"] == version for env in counters["environments"])

    answer, raw = lab.invoke(name, Qualifier="live", LogType="Tail")
    assert not answer["cold"] and answer["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert "Init Duration" not in base64.b64decode(raw["LogResult"]).decode()
    assert raw["ExecutedVersion"] == version and lab.counters(name)["cold_starts"] == 0

    time.sleep(lab.options["idle_timeout"] + 2)  # provisioned environments do not scale to zero
    assert lab.counters(name)["live_environments"] == 2
    listed = lab.lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [config["FunctionArn"].rsplit(":", 1)[1] for config in listed] == ["live"]
    lab.lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    wait_for(lambda: lab.counters(name)["live_environments"] == 0, 10, what="the provisioned environments stopping")


def test_idle_environments_retire(lab):
    name = lab.function("echo")
    assert lab.invoke(name)[0]["cold"]
    assert not lab.invoke(name)[0]["cold"]
    time.sleep(lab.options["idle_timeout"] + 2)
    assert lab.counters(name)["live_environments"] == 0
    assert lab.invoke(name)[0]["cold"]
    assert lab.counters(name)["cold_starts"] == 2


def test_1000_requests_at_concurrency_8_through_the_gateway(lab):
    name = lab.function("web")
    url = lab.http_api(name) + "/predict"
    sessions = {}

    def call(index: int) -> int:
        session = sessions.setdefault(index % 8, requests.Session())
        return session.post(url, json={"sepal_length": 5.1, "request": index}, timeout=30).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(1000)))
    elapsed = time.monotonic() - started
    counters = lab.counters(name)
    assert statuses.count(201) == 1000, {status: statuses.count(status) for status in set(statuses)}
    assert counters["invocations"] == 1000 and counters["errors"] == 0 and counters["throttles"] == 0
    assert counters["cold_starts"] == counters["environments_started"] <= 8
    print(f"\n1000 requests in {elapsed:.1f} s with {counters['environments_started']} environments")
    reports = [e["message"] for e in lab.logs.filter_log_events(logGroupName=f"/aws/lambda/{name}",
                                                                 filterPattern="REPORT")["events"]]
    assert sum(bool(re.search(r"Init Duration", report)) for report in reports) == counters["cold_starts"]


def test_faults_then_the_next_request_succeeds(lab):
    name = lab.function("faults", Timeout=1)
    url = lab.http_api(name, route_key="GET /work")
    for fault, status in (("raise", 502), ("sleep", 502), ("kill", 502)):
        answer = requests.get(f"{url}/work?fault={fault}&seconds=3", timeout=30)
        assert (answer.status_code, answer.json()) == (status, {"message": "Internal Server Error"}), fault
        after = requests.get(f"{url}/work", timeout=30)
        assert (after.status_code, after.text) == (200, "fine"), fault
    counters = lab.counters(name)
    assert counters["timeouts"] == 1 and counters["errors"] == 2
    # the timed-out and the crashed environment were replaced by fresh ones
    assert counters["environments_started"] == counters["cold_starts"] == 3


def test_a_request_in_flight_when_the_stand_in_stops_gets_its_answer_before_the_function_goes(lab):
    name = lab.function("faults", Timeout=10)
    url = lab.http_api(name) + "/predict?fault=sleep&seconds=2"
    requests.post(url, json={}, timeout=30)  # warm: the one below is the function's own two seconds, not a cold start
    answered = []
    caller = threading.Thread(target=lambda: answered.append(requests.post(url, json={}, timeout=30)))
    caller.start()
    time.sleep(0.7)  # mid-request: the edge stops accepting, then drains what it serves before the runtime stops
    lab.restart()
    caller.join()
    assert [(r.status_code, r.text) for r in answered] == [(200, "fine")]


def test_restart_mid_run(lab):
    name = lab.function("web")
    url = lab.http_api(name) + "/predict"
    assert requests.post(url, json={}).status_code == 201
    outcomes, done = [], threading.Event()

    def keep_calling() -> None:
        while not done.is_set():
            try:
                outcomes.append(requests.post(url, json={}, timeout=30).status_code)
            except requests.ConnectionError:
                outcomes.append("refused")
            time.sleep(0.02)

    caller = threading.Thread(target=keep_calling)
    caller.start()
    time.sleep(0.3)
    lab.restart()
    assert requests.post(url, json={}).status_code == 201  # the same API, function and image after the restart
    time.sleep(0.3)
    done.set()
    caller.join()
    assert set(outcomes) <= {201, "refused"} and outcomes[-1] == 201, outcomes
    assert json.loads(requests.post(url, json={"after": "restart"}).json()["event"]["body"]) == {"after": "restart"}
