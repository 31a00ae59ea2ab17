"""Lambda control plane fixes around moto: image checks, function states, provisioned concurrency.

* ``CreateFunction`` / ``UpdateFunctionConfiguration`` refuse the names and settings Lambda refuses (:mod:`.params`).
* ``CreateFunction`` / ``UpdateFunctionCode`` refuse images that were never pushed or whose
  manifest Lambda does not accept, with AWS's ``InvalidParameterValueException`` texts.
* A new image function is ``Pending`` and an update ``InProgress`` until the image is
  ready to run (pulled into the engine, or extracted in host mode), then ``Active`` /
  ``Successful``; updates while one is in progress get ``ResourceConflictException``.
* Updates and deletes retire warm environments.
* ``Put/Get/Delete/ListProvisionedConcurrencyConfig(s)``, which moto lacks (:mod:`.provisioned`).
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from moto.core.utils import iso_8601_datetime_with_nanoseconds

from localcloud.aws import backends
from localcloud.aws.awslambda.catalog import Catalog
from localcloud.aws.awslambda.functions import IMAGE_URI, ImageError, ImageStore, repoint
from localcloud.aws.awslambda.params import check_configuration, check_name
from localcloud.aws.awslambda.provisioned import ProvisionedConcurrency
from localcloud.aws.awslambda.runtime import Runtime
from localcloud.aws.control import Call, Hook
from localcloud.aws.sidetable import Code, FunctionRecord, key_of
from localcloud.aws.wire import Answer, AwsError, ResourceConflict
from localcloud.engine import EngineError

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

FUNCTIONS = "/2015-03-31/functions"
CODE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/code/?$")
CONFIGURATION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/?$")
PROVISIONED = re.compile(r"^/2019-09-30/functions/(?P<name>[^/]+)/provisioned-concurrency/?$")
PREPARE_FAILURES = (ImageError, EngineError, AwsError, LookupError, OSError)


class LambdaHook(Hook):
    service = "lambda"

    def __init__(self, cloud: Cloud, catalog: Catalog, store: ImageStore, runtime: Runtime):
        self.catalog, self.store, self.runtime = catalog, store, runtime
        self.lock, self.table, self.on_mutation = cloud.lock, cloud.table, cloud.changed
        self.provisioned = ProvisionedConcurrency(cloud, catalog, runtime.pools)

    def before(self, call: Call) -> Answer | None:
        try:
            if call.method == "POST" and call.path.rstrip("/") == FUNCTIONS:
                check_name(call.json.get("FunctionName") if isinstance(call.json, dict) else None)
                check_configuration(call.json)
                if call.json.get("PackageType") == "Image":
                    call.scratch["image"] = self.catalog.check_image(call.json.get("Code", {}).get("ImageUri", ""))
            elif call.method == "PUT" and (match := CODE.match(call.path)):
                self._refuse_if_busy(call, match["name"])
                if call.json.get("ImageUri"):
                    call.scratch["image"] = self.catalog.check_image(call.json["ImageUri"])
            elif call.method == "PUT" and (match := CONFIGURATION.match(call.path)):
                check_configuration(call.json)
                self._refuse_if_busy(call, match["name"])
            elif match := PROVISIONED.match(call.path):
                return self.provisioned.handle(call, match["name"])
        except AwsError as error:
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
                self.table.function(key_of(fn)).revision += 1
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
            key = (call.account, call.region, match["name"].split(":")[-1])
            with self.lock:
                self.table.functions.pop(key, None)
            self.runtime.pools.forget(key)

    # -- create and update -------------------------------------------------------------------
    def _created(self, call: Call, document: dict) -> dict:
        image = call.scratch["image"]
        with self.lock:
            fn = self.catalog.function(call.account, call.region, document["FunctionName"])
            fn.code_sha_256, fn.code_size = image.digest.split(":", 1)[1], image.size
            fn.state = "Pending"
            self.table.functions[key_of(fn)] = FunctionRecord(
                state_reason=("The function is being created.", "Creating"), pending=image.code)
        self._prepare_later(key_of(fn))
        document.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating",
                        CodeSha256=fn.code_sha_256, CodeSize=image.size)
        return document

    def _code_updated(self, call: Call, name: str, document: dict) -> dict:
        image = call.scratch["image"]
        with self.lock:
            fn = self.catalog.function(call.account, call.region, name)
            record = self.table.function(key_of(fn))
            record.serving = record.serving or call.scratch["serving"]  # keeps serving until the new code is ready
            record.pending = image.code
            record.update = ("InProgress", "The function is being updated.", "Updating")
            fn.code_sha_256, fn.code_size = image.digest.split(":", 1)[1], image.size
            fn.last_modified = iso_8601_datetime_with_nanoseconds()
        self._prepare_later(key_of(fn))
        document.update(LastUpdateStatus="InProgress", CodeSha256=fn.code_sha_256, CodeSize=image.size,
                        LastModified=fn.last_modified)
        return document

    def _prepare_later(self, key: tuple) -> None:
        threading.Thread(target=self._prepare, args=(key,), name=f"prepare-{key[2]}", daemon=True).start()

    def _prepare(self, key: tuple) -> None:
        """Get the pending image ready, then flip the function to Active / Successful and serve the new code;
        on failure: Failed with the reason, and (for an update) the previous code stays, as on AWS."""
        with self.lock:
            try:
                fn = self.catalog.function(*key)
            except AwsError:
                return  # deleted meanwhile
            record = self.table.function(key)
            code = record.pending or current_code(fn, None)
            creating = fn.state == "Pending"
            try:
                spec = self.catalog.spec(fn, code)
            except AwsError as error:
                spec, failure = None, error.message
        failure = None if spec else failure
        if spec:
            try:
                self.store.plan(spec)
            except PREPARE_FAILURES as error:
                failure = str(getattr(error, "message", error))
        with self.lock:
            if self.table.functions.get(key) is not record:
                return  # deleted (and maybe created again) meanwhile
            record.pending = None
            if creating:
                fn.state = "Failed" if failure else "Active"
                record.state_reason = (failure, "InvalidImage") if failure else None
                record.serving = None if failure else code
            elif failure:
                record.update = ("Failed", failure, "InvalidImage")
                if record.serving:  # what GetFunction reports is what runs
                    fn.code["ImageUri"], fn.code_sha_256 = record.serving.image_uri, record.serving.digest[7:]
                    fn.code_size = record.serving.size
            else:
                record.update, record.serving = ("Successful",), code
        self.on_mutation()
        if not failure:
            self._refresh(fn)

    def _refresh(self, fn) -> None:
        with self.lock:
            try:
                spec = self.catalog.spec(fn)
            except AwsError:
                return
        self.runtime.pools.refresh(spec)

    def _refuse_if_busy(self, call: Call, name: str) -> None:
        with self.lock:
            fn = self.catalog.function(call.account, call.region, name)
            record = self.table.functions.get(key_of(fn))
            if fn.state == "Pending":
                raise ResourceConflict("The operation cannot be performed at this time. "
                                  "The function is currently in the following state: Pending")
            if record and (record.update or ("",))[0] == "InProgress":
                raise ResourceConflict("The operation cannot be performed at this time. "
                                  f"An update is in progress for resource: {fn.function_arn}")
            call.scratch["serving"] = current_code(fn, record)

    def restore(self, edge_host: str) -> list[str]:
        """After a restart (possibly on another port): ImageUris point at this edge, extracted images no function
        uses are removed, preparations the stop interrupted start again, provisioned concurrency is provisioned
        again. Returns the names of the removed folders."""
        resume, provision, digests = [], [], set()
        with self.lock:
            for _, _, backend in backends.existing("lambda"):
                for entry in backend._lambdas._functions.values():
                    for fn in [entry["latest"], *entry["versions"]]:
                        if "ImageUri" in fn.code:
                            fn.code["ImageUri"] = repoint(fn.code["ImageUri"], edge_host)
                            digests.add("sha256:" + fn.code_sha_256)
                    latest = entry["latest"]
                    record = self.table.functions.get(key_of(latest))
                    if record is None:
                        continue
                    for name in ("serving", "pending"):
                        if code := getattr(record, name):
                            setattr(record, name, Code(repoint(code.image_uri, edge_host), code.digest, code.size))
                            digests.add(code.digest)
                    if latest.state == "Pending" or (record.update or ("",))[0] == "InProgress":
                        resume.append(key_of(latest))
                    provision += [(key_of(latest), config) for config in record.provisioned.values()]
        removed = self.store.prune(digests)  # before any preparation starts again
        for key in resume:
            self._prepare_later(key)
        for key, config in provision:
            self.runtime.pools.provision(key, config["version"], config["requested"])
        return removed


def current_code(fn, record: FunctionRecord | None) -> Code:
    """The code a function serves: the side table's record, or what moto stored."""
    if record and record.serving:
        return record.serving
    return Code(fn.code.get("ImageUri", ""), "sha256:" + fn.code_sha_256, int(fn.code_size or 0))
