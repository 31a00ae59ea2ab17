"""Against real AWS, mistakes in the student's setup become one line that says what to do."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labkit import aws, config
from labkit.errors import LabError


@pytest.fixture
def aws_settings(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws._session.cache_clear()
    return config.load({"LAB_TARGET": "aws", "AWS_REGION": "us-east-1"})


def test_missing_credentials(aws_settings):
    with pytest.raises(LabError, match="no AWS credentials found; run `aws configure`"), aws.explained(aws_settings, "creating ECR repository"):
        aws.client(aws_settings, "ecr").describe_repositories()


def test_unsupported_region(aws_settings):
    with pytest.raises(LabError, match="AWS Lambda is not available in region 'mars-north-1'"):
        aws.client(aws_settings.with_overrides(region="mars-north-1"), "lambda")


def test_access_denied_names_the_action(aws_settings):
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "User: arn:aws:iam::1:user/s is not "
                          "authorized to perform: lambda:CreateFunction"}}, "CreateFunction")
    with pytest.raises(LabError, match="lambda:CreateFunction .*IAM permissions"), aws.explained(aws_settings, "deploying"):
        raise denied


def test_local_stand_in_not_running():
    settings = config.load({"LAB_ENDPOINT_URL": "http://127.0.0.1:9"})
    with pytest.raises(LabError, match="not running at http://127.0.0.1:9; start it with `make cloud-up`"), aws.explained(settings, "listing"):
        aws.client(settings, "ecr").describe_repositories()
