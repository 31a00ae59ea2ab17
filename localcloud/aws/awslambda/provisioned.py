"""Provisioned concurrency, which moto lacks: ``Put/Get/Delete/ListProvisionedConcurrencyConfig(s)``.

The configuration lives in the side table; the pools keep the requested number of initialised
environments of the version (provisioned-concurrency.html).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from moto.core.utils import iso_8601_datetime_with_nanoseconds

from localcloud.aws.awslambda.catalog import Catalog
from localcloud.aws.awslambda.functions import LATEST
from localcloud.aws.awslambda.pools import Pools
from localcloud.aws.control import Call
from localcloud.aws.sidetable import key_of
from localcloud.aws.wire import Answer, InvalidParameterValue, ProvisionedConcurrencyConfigNotFound

if TYPE_CHECKING:
    from localcloud.cloud import Cloud


class ProvisionedConcurrency:
    def __init__(self, cloud: Cloud, catalog: Catalog, pools: Pools):
        self.catalog, self.pools = catalog, pools
        self.lock, self.table, self.on_mutation = cloud.lock, cloud.table, cloud.changed

    def handle(self, call: Call, name: str) -> Answer:
        with self.lock:
            latest = self.catalog.function(call.account, call.region, name)
            record = self.table.function(key_of(latest))
            configs = dict(record.provisioned)
            key = (call.account, call.region, latest.function_name)
            if call.method == "GET" and call.query.get("List"):
                items = [self._describe(key, latest, qualifier, config) for qualifier, config in configs.items()]
                return _json(200, {"ProvisionedConcurrencyConfigs": items})
            qualifier = call.query.get("Qualifier", "")
            if not qualifier or qualifier == LATEST:
                raise InvalidParameterValue("Provisioned Concurrency Configs cannot be applied to unpublished "
                                            "function versions.")
            version = str(self.catalog.function(call.account, call.region, name, qualifier).version)
            if call.method == "PUT":
                requested = int(call.json.get("ProvisionedConcurrentExecutions", 0))
                if requested < 1:
                    raise InvalidParameterValue("ProvisionedConcurrentExecutions must be at least 1")
                configs[qualifier] = {"requested": requested, "version": version,
                                      "modified": iso_8601_datetime_with_nanoseconds()}
            elif qualifier not in configs:
                raise ProvisionedConcurrencyConfigNotFound("No Provisioned Concurrency Config found for this function")
            elif call.method == "DELETE":
                del configs[qualifier]
            record.provisioned = configs
        self.on_mutation()
        if call.method == "DELETE":
            self.pools.provision(key, version, 0)
            return _json(204, None)
        if call.method == "PUT":
            self.pools.provision(key, version, configs[qualifier]["requested"])
            return _json(202, self._describe(key, latest, qualifier, configs[qualifier], brief=True))
        return _json(200, self._describe(key, latest, qualifier, configs[qualifier], brief=True))

    def _describe(self, key: tuple, latest, qualifier: str, config: dict, brief: bool = False) -> dict:
        ready = min(self.pools.provisioned_ready(key, config["version"]), config["requested"])
        described = {"RequestedProvisionedConcurrentExecutions": config["requested"],
                     "AvailableProvisionedConcurrentExecutions": ready,
                     "AllocatedProvisionedConcurrentExecutions": ready,
                     "Status": "READY" if ready >= config["requested"] else "IN_PROGRESS",
                     "LastModified": config["modified"]}
        if not brief:
            described["FunctionArn"] = f"{latest.function_arn}:{qualifier}"
        return described


def _json(status: int, document: object) -> Answer:
    body = b"" if document is None else json.dumps(document).encode()
    return Answer(status, [("Content-Type", "application/json")], body)
