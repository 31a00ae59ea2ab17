"""Findings M3 and L1: limits and variables Lambda and Cloud Run refuse never reach ``docker run``."""

from __future__ import annotations

import botocore.config
import botocore.exceptions
import pytest

from localcloud.gcp import resources
from localcloud.gcp.errors import GoogleError

NO_CLIENT_CHECKS = botocore.config.Config(parameter_validation=False)  # what curl or raw HTTP can send


def refusal(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture(scope="module")
def raw_lambda(lab):
    return lab.cloud.client("lambda", config=NO_CLIENT_CHECKS)


@pytest.fixture(scope="module")
def echo(lab):
    return lab.function("echo")


LIMITS = [
    ({"MemorySize": 0}, "ValidationException", "Value '0' at 'memorySize' failed to satisfy constraint: "
                                               "Member must have value greater than or equal to 128"),
    ({"MemorySize": 10**7}, "InvalidParameterValueException", "less than or equal to 10240"),
    ({"Timeout": 0}, "ValidationException", "Member must have value greater than or equal to 1"),
    ({"Timeout": 10**6}, "InvalidParameterValueException", "less than or equal to 900"),
    ({"Environment": {"Variables": {"AWS_REGION": "x", "LAMBDA_TASK_ROOT": "/"}}}, "InvalidParameterValueException",
     "contains reserved keys that are currently not supported for modification. "
     "Reserved keys used in this request: AWS_REGION,LAMBDA_TASK_ROOT"),
    ({"Environment": {"Variables": {"AWS_SECRET_ACCESS_KEY": "s"}}}, "InvalidParameterValueException", "AWS_SECRET"),
    ({"Environment": {"Variables": {"_HANDLER": "y"}}}, "ValidationException", "regular expression pattern"),
    ({"Environment": {"Variables": {"1-bad": "x"}}}, "ValidationException", "regular expression pattern"),
    ({"Environment": {"Variables": {"--privileged": "1"}}}, "ValidationException", "regular expression pattern"),
]


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
@pytest.mark.parametrize(("config", "code", "message"), LIMITS)
def test_create_function_refuses_what_lambda_refuses(lab, raw_lambda, config, code, message):
    image = lab.image("echo")
    refused = refusal(raw_lambda.create_function, FunctionName="refused-fn", PackageType="Image", Role=lab.role,
                      Code={"ImageUri": image}, **config)
    assert refused[0] == code and message in refused[1], refused
    assert "refused-fn" not in {f["FunctionName"] for f in lab.lam.list_functions()["Functions"]}


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
@pytest.mark.parametrize(("config", "code", "message"), LIMITS)
def test_update_function_configuration_refuses_what_lambda_refuses(lab, raw_lambda, echo, config, code, message):
    refused = refusal(raw_lambda.update_function_configuration, FunctionName=echo, **config)
    assert refused[0] == code and message in refused[1], refused
    configuration = lab.lam.get_function_configuration(FunctionName=echo)
    assert (configuration["MemorySize"], configuration["Timeout"]) == (256, 5)
    assert "Variables" not in configuration.get("Environment", {})


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_the_bounds_and_ordinary_variables_are_accepted(lab, raw_lambda, echo):
    raw_lambda.update_function_configuration(FunctionName=echo, MemorySize=128, Timeout=900,
                                             Environment={"Variables": {"MODEL_PATH": "m", "AWS_LAMBDA_EXEC_WRAPPER_X": "1"}})
    lab.wait_active(echo)
    raw_lambda.update_function_configuration(FunctionName=echo, MemorySize=256, Timeout=5, Environment={"Variables": {}})
    lab.wait_active(echo)


def template(concurrency: int = 0, **limits) -> dict:
    return {"containers": [{"image": "gcr.io/p/i", "resources": {"limits": limits}}],
            "maxInstanceRequestConcurrency": concurrency}


@pytest.mark.parametrize("limits", [{"memory": "0"}, {"memory": "127Mi"}, {"memory": "33Gi"}, {"memory": "64M"},
                                    {"cpu": "0"}, {"cpu": "0m"}, {"cpu": "0.01"}, {"cpu": "3"}, {"cpu": "16"},
                                    {"cpu": "1.5"}])
def test_cloud_run_refuses_limits_it_does_not_allow(limits):
    with pytest.raises(GoogleError) as caught:
        resources.normalized_template(template(**limits))
    assert caught.value.http_status == 400 and "Invalid value specified for" in str(caught.value)


@pytest.mark.parametrize(("limits", "memory", "cpus"), [({"memory": "128Mi", "cpu": "0.08"}, 128 * 2**20, 0.08),
                                                        ({"memory": "32Gi", "cpu": "8"}, 32 * 2**30, 8),
                                                        ({"memory": "1G", "cpu": "500m"}, 10**9, 0.5)])
def test_cloud_run_takes_the_limits_it_allows(limits, memory, cpus):
    concurrency = 1 if cpus < 1 else 0  # below one CPU, Cloud Run takes one request at a time
    spec = resources.spec_of("s", "s-1", resources.normalized_template(template(concurrency, **limits)))
    assert (spec.memory_bytes, spec.cpus) == (memory, cpus)
