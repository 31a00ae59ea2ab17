"""Lambda control plane fixes around moto: image checks, function states, provisioned concurrency.

* ``CreateFunction`` / ``UpdateFunctionCode`` refuse images that were never pushed or whose
  manifest Lambda does not accept, with AWS's ``InvalidParameterValueException`` texts.
* A new image function is ``Pending`` and an update ``InProgress`` until the image is
  ready to run (pulled into the engine, or extracted in host mode), then ``Active`` /
  ``Successful``; updates while one is in progress get ``ResourceConflictException``.
* Updates and deletes retire warm environments.
* ``Put/Get/Delete/ListProvisionedConcurrencyConfig(s)``, which moto lacks.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable

from moto.core.utils import iso_8601_datetime_with_nanoseconds

from .catalog import Catalog, LambdaError
from .control import Answer, Call, Hook
from .engine import EngineError
from .functions import IMAGE_URI, LATEST, ImageError, ImageStore
from .runtime import Runtime
import contextlib

FUNCTIONS = "/2015-03-31/functions"
CODE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/code/?$")
CONFIGURATION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/?$")
PROVISIONED = re.compile(r"^/2019-09-30/functions/(?P<name>[^/]+)/provisioned-concurrency/?$")


class LambdaHook(Hook):
    service = "lambda"

    def __init__(self, catalog: Catalog, store: ImageStore, runtime: Runtime, lock, on_mutation: Callable[[], None]):
        self.catalog, self.store, self.runtime = catalog, store, runtime
        self.lock, self.on_mutation = lock, on_mutation

    def before(self, call: Call) -> Answer | None:
        try:
            if call.method == "POST" and call.path.rstrip("/") == FUNCTIONS:
                if call.json.get("PackageType") == "Image":
                    call.scratch["image"] = self.catalog.check_image(call.json.get("Code", {}).get("ImageUri", ""))
            elif call.method == "PUT" and (match := CODE.match(call.path)):
                self._refuse_if_busy(call, match["name"])
                if call.json.get("ImageUri"):
                    call.scratch["image"] = self.catalog.check_image(call.json["ImageUri"])
            elif call.method == "PUT" and (match := CONFIGURATION.match(call.path)):
                self._refuse_if_busy(call, match["name"])
            elif match := PROVISIONED.match(call.path):
                return self._provisioned(call, match["name"])
        except LambdaError as error:
            return error.answer()
        return None

    def after(self, call: Call, answer: Answer) -> None:
        if not answer.ok:
            return
        if call.method == "POST" and call.path.rstrip("/") == FUNCTIONS and "image" in call.scratch:
            answer.set_json(self._created(call, answer.json()))
        elif call.method == "PUT" and (match := CODE.match(call.path)) and "image" in call.scratch:
            answer.set_json(self._code_updated(call, match["name"], answer.json()))
        elif call.method == "PUT" and (match := CONFIGURATION.match(call.path)):
            document = answer.json()
            document["LastUpdateStatus"] = "InProgress"  # AWS answers InProgress, then applies the change
            answer.set_json(document)
            with self.lock:
                fn = self.catalog.function(call.account, call.region, match["name"])
                fn.localcloud_revision = getattr(fn, "localcloud_revision", 0) + 1
            self.on_mutation()
            self._refresh(fn)
        elif call.method == "GET" and (match := FUNCTION.match(call.path)):
            document = answer.json()
            code = document.get("Code", {})
            if parts := IMAGE_URI.match(code.get("ImageUri", "")):
                digest = document["Configuration"]["CodeSha256"]
                code["ResolvedImageUri"] = f"{parts['host']}/{parts['repository']}@sha256:{digest}"
            answer.set_json(document)
        elif call.method == "DELETE" and (match := FUNCTION.match(call.path)) and not call.query.get("Qualifier"):
            self.runtime.pools.forget((call.account, call.region, match["name"].split(":")[-1]))

    # -- create and update -------------------------------------------------------------------
    def _created(self, call: Call, document: dict) -> dict:
        image = call.scratch["image"]
        with self.lock:
            fn = self.catalog.function(call.account, call.region, document["FunctionName"])
            fn.code_sha_256, fn.code_size = image.digest.split(":", 1)[1], image.size
            fn.state, fn.localcloud_state_reason = "Pending", ("The function is being created.", "Creating")
        threading.Thread(target=self._prepare, args=(fn, True), daemon=True).start()
        document.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating",
                        CodeSha256=fn.code_sha_256, CodeSize=image.size)
        return document

    def _code_updated(self, call: Call, name: str, document: dict) -> dict:
        image = call.scratch["image"]
        with self.lock:
            fn = self.catalog.function(call.account, call.region, name)
            fn.code_sha_256, fn.code_size = image.digest.split(":", 1)[1], image.size
            fn.last_modified = iso_8601_datetime_with_nanoseconds()
            fn.localcloud_revision = getattr(fn, "localcloud_revision", 0) + 1
            fn.localcloud_update = ("InProgress", "The function is being updated.", "Updating")
        threading.Thread(target=self._prepare, args=(fn, False), daemon=True).start()
        document.update(LastUpdateStatus="InProgress", CodeSha256=fn.code_sha_256, CodeSize=image.size,
                        LastModified=fn.last_modified)
        return document

    def _prepare(self, fn, creating: bool) -> None:
        """Get the image ready, then flip the function to Active / Successful (or Failed, with the reason)."""
        failure = None
        try:
            self.store.plan(self.catalog.spec(fn))
        except (ImageError, EngineError, LambdaError, LookupError) as error:
            failure = str(getattr(error, "message", error))
        with self.lock:
            if creating:
                fn.state = "Failed" if failure else "Active"
                fn.localcloud_state_reason = (failure, "InvalidImage") if failure else None
            else:
                fn.localcloud_update = ("Failed", failure, "InvalidImage") if failure else ("Successful",)
        self.on_mutation()
        if not failure:
            self._refresh(fn)

    def _refresh(self, fn) -> None:
        with contextlib.suppress(LambdaError):
            self.runtime.pools.refresh(self.catalog.spec(fn))

    def _refuse_if_busy(self, call: Call, name: str) -> None:
        fn = self.catalog.function(call.account, call.region, name)
        if fn.state == "Pending":
            raise LambdaError(409, "ResourceConflictException", "The operation cannot be performed at this time. "
                              "The function is currently in the following state: Pending")
        if (getattr(fn, "localcloud_update", None) or ("",))[0] == "InProgress":
            raise LambdaError(409, "ResourceConflictException", "The operation cannot be performed at this time. "
                              f"An update is in progress for resource: {fn.function_arn}")

    # -- provisioned concurrency ---------------------------------------------------------------
    def _provisioned(self, call: Call, name: str) -> Answer:
        with self.lock:
            latest = self.catalog.function(call.account, call.region, name)
            configs = dict(getattr(latest, "localcloud_provisioned", {}))
            key = (call.account, call.region, latest.function_name)
            if call.method == "GET" and call.query.get("List"):
                items = [self._describe(key, latest, qualifier, config) for qualifier, config in configs.items()]
                return _json(200, {"ProvisionedConcurrencyConfigs": items})
            qualifier = call.query.get("Qualifier", "")
            if not qualifier or qualifier == LATEST:
                raise LambdaError(400, "InvalidParameterValueException",
                                  "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
            version = str(self.catalog.function(call.account, call.region, name, qualifier).version)
            if call.method == "PUT":
                requested = int(call.json.get("ProvisionedConcurrentExecutions", 0))
                if requested < 1:
                    raise LambdaError(400, "InvalidParameterValueException",
                                      "ProvisionedConcurrentExecutions must be at least 1")
                configs[qualifier] = {"requested": requested, "version": version,
                                      "modified": iso_8601_datetime_with_nanoseconds()}
            elif qualifier not in configs:
                raise LambdaError(404, "ProvisionedConcurrencyConfigNotFoundException",
                                  "No Provisioned Concurrency Config found for this function")
            elif call.method == "DELETE":
                del configs[qualifier]
            latest.localcloud_provisioned = configs
        self.on_mutation()
        if call.method == "DELETE":
            self.runtime.pools.provision(key, version, 0)
            return _json(204, None)
        if call.method == "PUT":
            self.runtime.pools.provision(key, version, configs[qualifier]["requested"])
            return _json(202, self._describe(key, latest, qualifier, configs[qualifier], brief=True))
        return _json(200, self._describe(key, latest, qualifier, configs[qualifier], brief=True))

    def _describe(self, key: tuple, latest, qualifier: str, config: dict, brief: bool = False) -> dict:
        ready = min(self.runtime.pools.provisioned_ready(key, config["version"]), config["requested"])
        described = {"RequestedProvisionedConcurrentExecutions": config["requested"],
                     "AvailableProvisionedConcurrentExecutions": ready,
                     "AllocatedProvisionedConcurrentExecutions": ready,
                     "Status": "READY" if ready >= config["requested"] else "IN_PROGRESS",
                     "LastModified": config["modified"]}
        if not brief:
            described["FunctionArn"] = f"{latest.function_arn}:{qualifier}"
        return described

    def restore(self, functions: list) -> None:
        """After a restart: provision again what was configured."""
        for fn in functions:
            for config in getattr(fn, "localcloud_provisioned", {}).values():
                self.runtime.pools.provision((fn.account_id, fn.region, fn.function_name), config["version"],
                                       config["requested"])


def _json(status: int, document: object) -> Answer:
    body = b"" if document is None else json.dumps(document).encode()
    return Answer(status, [("Content-Type", "application/json")], body)
