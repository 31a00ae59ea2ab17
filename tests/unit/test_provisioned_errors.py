"""A new AWS account cannot provision concurrency: one clear line, not a traceback."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from labkit import aws, config
from labkit.errors import LabError
from labkit.experiments import provisioned

QUOTA_MESSAGE = ("Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
                 "below its minimum value of [10].")


def test_a_full_concurrency_quota_is_explained(monkeypatch):
    # given an account whose quota is the new-account default (AWS's answer, recorded)
    settings = config.load({"LAB_TARGET": "aws", "AWS_REGION": "us-east-1"})
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response("publish_version", {"Version": "1"})
    stub.add_response("update_alias", {"Name": "live", "FunctionVersion": "1"})
    stub.add_client_error("put_provisioned_concurrency_config", "InvalidParameterValueException", QUOTA_MESSAGE, 400)
    monkeypatch.setattr(aws, "client", lambda *_: client)
    # when / then
    with stub, pytest.raises(LabError, match=r"concurrency quota leaves no room.*Service Quotas"):
        provisioned.enable(settings)
