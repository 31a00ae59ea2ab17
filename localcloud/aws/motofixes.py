"""Where moto 5.2.5 answers differently from AWS, patched once at start-up.

* Lambda: ``get_configuration`` always says ``LastUpdateStatus: Successful`` and
  ``State: Active``; AWS reports ``Pending`` while an image function is being created
  and ``InProgress`` while an update is applied (the boto3 waiters ``function_active_v2``
  and ``function_updated_v2`` poll exactly these fields).
* Lambda: ``update_function_configuration`` ignores ``ImageConfig`` and ``EphemeralStorage``
  and leaves ``LastModified`` unchanged.
* Lambda: ``add_permission`` with a ``StatementId`` the policy already has adds a second
  statement; AWS refuses it with ``ResourceConflictException`` (409).
* IAM: AWS's managed policies (``AWSLambdaBasicExecutionRole`` among them) always exist on
  AWS; moto creates them only when its configuration asks for them.

The extra state lives in the stand-in's side table (:mod:`localcloud.aws.sidetable`), saved
and restored with moto's backends.
"""

from __future__ import annotations

import json

from moto.awslambda import models, policy
from moto.awslambda.exceptions import LambdaClientError
from moto.core.utils import iso_8601_datetime_with_nanoseconds
from moto.settings import default_user_config

from localcloud.aws.sidetable import SideTable, key_of

_installed: list[SideTable] = []


def install(table: SideTable) -> None:
    if _installed:
        _installed[0] = table
        return
    _installed.append(table)
    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
    get_configuration = models.LambdaFunction.get_configuration
    update_configuration = models.LambdaFunction.update_configuration

    def configuration(self, on_create: bool = False) -> dict:
        config = get_configuration(self, on_create)
        record = _installed[0].functions.get(key_of(self)) if self.version == "$LATEST" else None
        state_reason = record.state_reason if record else None
        if state_reason and self.state != "Active":
            config["StateReason"], config["StateReasonCode"] = state_reason
        update = record.update if record else None
        if update and not on_create:
            config["LastUpdateStatus"] = update[0]
            if update[0] != "Successful":
                config["LastUpdateStatusReason"], config["LastUpdateStatusReasonCode"] = update[1], update[2]
        return config

    def update(self, config_updates: dict) -> dict:
        if "ImageConfig" in config_updates:
            self.image_config = models.ImageConfig(config_updates["ImageConfig"])
        if "EphemeralStorage" in config_updates:
            self.ephemeral_storage = config_updates["EphemeralStorage"]["Size"]
        self.last_modified = iso_8601_datetime_with_nanoseconds()
        return update_configuration(self, config_updates)

    add_statement = policy.Policy.add_statement

    def add_unique_statement(self, raw: str, qualifier: str | None = None):
        sid = json.loads(raw).get("StatementId")
        if sid is not None and any(statement.get("Sid") == sid for statement in self.statements):
            raise ResourceConflict(f"The statement id ({sid}) provided already exists. Please provide a new "
                                   "statement id, or remove the existing statement.")
        return add_statement(self, raw, qualifier)

    models.LambdaFunction.get_configuration = configuration
    models.LambdaFunction.update_configuration = update
    policy.Policy.add_statement = add_unique_statement


class ResourceConflict(LambdaClientError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ResourceConflictException", message)
