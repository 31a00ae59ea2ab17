"""moto in-process, with the lab configured for LAB_TARGET=aws: no local services involved."""

from __future__ import annotations

import pytest
from moto import mock_aws

from labkit import aws, config, lambdas


@pytest.fixture
def settings(monkeypatch):
    """Settings for target ``aws`` inside ``mock_aws``, with fake credentials and no real config files."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
                       "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}.items():  # AWS has AWSLambdaBasicExecutionRole
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(lambdas, "IAM_PROPAGATION_S", 0)
    aws._session.cache_clear()
    with mock_aws():
        yield config.load({"LAB_TARGET": "aws", "AWS_REGION": "us-east-1"}, code="lab_solution")
