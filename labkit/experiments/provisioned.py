"""Cold-start mitigation, measured: provisioned concurrency next to an on-demand deploy.

    python -m labkit.experiments.provisioned [--requests 5]   # enable, compare, then remove it again

Provisioned concurrency keeps N execution environments of a *published version* initialised
ahead of traffic, so requests to it (through an alias) never wait for INIT. We publish the
deployed function as a version, point the alias ``live`` at it, provision one environment,
then force a cold start of ``$LATEST`` and send the same requests to both.

On AWS it is billed per GB-second for as long as it is configured, traffic or not, and takes
a few minutes to become READY: ``disable()`` removes the configuration, the alias and the
version again (the step-8 cleanup would too, since deleting a function deletes them all).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from tqdm import tqdm

from lambda_rie import WaitTimeout, wait_for

from .. import aws, config, lambdas
from ..bilingual import joined, say, text
from ..cli import Parser
from ..config import Settings
from ..errors import LabError, run_cli
from ..timing import REPORT, force_cold_start

ALIAS = "live"
DESCRIPTION = "lab: provisioned concurrency"  # marks the versions enable() publishes, for disable()
READY_TIMEOUT_S = 900  # AWS usually needs one to five minutes


@dataclass(frozen=True)
class Call:
    target: str  # "$LATEST" (on demand) or the alias (provisioned)
    position: int
    latency_ms: float  # client round trip of a direct invoke
    cold_start: bool | None  # as the handler reported it
    init_ms: float | None  # REPORT's Init Duration: paid by this request


def enable(settings: Settings, count: int = 1) -> str:
    """Publish a version, point the alias at it and provision ``count`` environments; wait until READY.

    Returns:
        The published version.
    """
    awslambda = aws.client(settings, "lambda")
    name = settings.function_name
    with aws.explained(settings, say(f"provisioning {count} environment(s) for {name}:{ALIAS}",
                                     f"{name}:{ALIAS}-এর জন্য {count}টা environment provision করা")):
        version = awslambda.publish_version(FunctionName=name, Description=DESCRIPTION)["Version"]
        try:
            awslambda.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
        except awslambda.exceptions.ResourceNotFoundException:
            awslambda.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
        try:
            awslambda.put_provisioned_concurrency_config(FunctionName=name, Qualifier=ALIAS,
                                                         ProvisionedConcurrentExecutions=count)
        except awslambda.exceptions.InvalidParameterValueException as error:
            if "UnreservedConcurrentExecution" not in str(error):
                raise
            raise LabError(say(f"this account's Lambda concurrency quota leaves no room to provision {count} "
                               "(new accounts get 10): ask for more in Service Quotas (AWS Lambda, Concurrent "
                               "executions), or skip this experiment",
                               f"এই account-এর Lambda concurrency quota-য় {count}টা provision করার জায়গা নেই "
                               "(নতুন account পায় 10): Service Quotas-এ (AWS Lambda, Concurrent executions) "
                               "বাড়াতে বলো, অথবা এই experiment বাদ দাও")) from None
        _wait_until_ready(awslambda, name, settings.lang)
    return version


def _wait_until_ready(awslambda, name: str, lang: str) -> None:
    provisioning = text(say(f"provisioning {ALIAS}", f"{ALIAS} provision হচ্ছে"), lang)
    with tqdm(desc=provisioning, bar_format="{desc} ({elapsed})") as bar:

        def ready() -> bool:
            state = awslambda.get_provisioned_concurrency_config(FunctionName=name, Qualifier=ALIAS)
            bar.set_description_str(f"{provisioning}: {state['Status']}")
            if state["Status"] == "FAILED":
                reason = state.get("StatusReason", "no reason given")
                raise LabError(say(f"provisioned concurrency failed: {reason}", f"provisioned concurrency ব্যর্থ: {reason}"))
            return state["Status"] == "READY"

        try:
            wait_for(ready, READY_TIMEOUT_S, interval=1, what="provisioned concurrency READY")
        except WaitTimeout:
            raise LabError(say(f"provisioned concurrency was not READY after {READY_TIMEOUT_S} s; run disable() to remove it",
                               f"{READY_TIMEOUT_S} s পরেও provisioned concurrency READY হয়নি; সরাতে disable() চালাও")) from None


def disable(settings: Settings) -> list[str]:
    """Remove the provisioned concurrency, the alias and the versions ``enable`` published; returns what went
    (English strings that carry their Bengali, :class:`labkit.bilingual.Said`)."""
    awslambda = aws.client(settings, "lambda")
    name, removed = settings.function_name, []
    missing = awslambda.exceptions.ResourceNotFoundException
    with aws.explained(settings, say(f"removing provisioned concurrency from {name}:{ALIAS}",
                                     f"{name}:{ALIAS} থেকে provisioned concurrency সরানো")):
        try:
            awslambda.delete_provisioned_concurrency_config(FunctionName=name, Qualifier=ALIAS)
            removed.append(say(f"provisioned concurrency on {ALIAS}", f"{ALIAS}-এর provisioned concurrency"))
        except missing:
            pass
        try:
            awslambda.get_alias(FunctionName=name, Name=ALIAS)
            awslambda.delete_alias(FunctionName=name, Name=ALIAS)
            removed.append(f"alias {ALIAS}")
        except missing:
            pass
        try:
            pages = awslambda.get_paginator("list_versions_by_function").paginate(FunctionName=name)
            ours = [v["Version"] for page in pages for v in page["Versions"] if v.get("Description") == DESCRIPTION]
        except missing:
            ours = []  # no function at all
        for version in ours:
            awslambda.delete_function(FunctionName=name, Qualifier=version)
            removed.append(f"version {version}")
    return removed


def invoke(settings: Settings, target: str, position: int) -> Call:
    """One timed direct invoke of ``$LATEST`` or the alias."""
    started = time.perf_counter()
    result = lambdas.test_invoke(settings, qualifier=target)
    latency_ms = (time.perf_counter() - started) * 1000
    report = REPORT.search(result.report)
    body = json.loads(result.payload["body"]) if isinstance(result.payload, dict) and "body" in result.payload else {}
    return Call(target, position, round(latency_ms, 2), body.get("cold_start"),
                float(report["init"]) if report and report["init"] else None)


def compare(settings: Settings, requests: int = 5) -> list[Call]:
    """Force a cold start of ``$LATEST``, then send ``requests`` invokes to it and to the alias."""
    force_cold_start(settings)  # retires $LATEST's environments; the published version keeps its own
    calls = []
    with tqdm(total=2 * requests, desc=text(say("comparing", "তুলনা চলছে"), settings.lang), unit="request") as bar:
        for target in ("$LATEST", ALIAS):
            for position in range(1, requests + 1):
                calls.append(invoke(settings, target, position))
                bar.update(1)
    return calls


def format_calls(calls: list[Call], lang: str | None = None) -> str:
    """One row per request position: on demand next to provisioned (numbers right-aligned), in ``lang``
    (default: ``LAB_LANG``)."""
    lang = lang or config.language()
    yes, no = text(say("yes", "হ্যাঁ"), lang), text(say("no", "না"), lang)

    def cells(call: Call) -> str:
        init = f"{call.init_ms:,.0f} ms" if call.init_ms is not None else "-"
        return f"{call.latency_ms:>9.1f} ms {yes if call.cold_start else no:>6} {init:>10}"

    on_demand, provisioned = ([c for c in calls if c.target == target] for target in ("$LATEST", ALIAS))
    header = f"{'client':>12} {'cold?':>6} {'init':>10}"
    on_demand_label = text(say("on demand ($LATEST)", "on-demand ($LATEST)"), lang)
    lines = [f"{'':>3}   {on_demand_label:<30}   provisioned ({ALIAS})", f"{'#':>3}   {header}   {header}"]
    lines += [f"{a.position:>3}   {cells(a)}   {cells(b)}" for a, b in zip(on_demand, provisioned, strict=True)]
    return "\n".join(lines)


def main() -> int:
    parser = Parser(prog="python -m labkit.experiments.provisioned",
                    description=say(__doc__.splitlines()[0],
                                    "Cold start কমানো, মেপে: on-demand deploy-এর পাশে provisioned concurrency।"))
    parser.add_argument("--requests", type=int, default=5, help=say("requests to each of $LATEST and the alias",
                                                                    "$LATEST আর alias, প্রতিটায় কয়টা request"))
    args = parser.parse_args()
    if args.requests < 1:
        parser.error(say("--requests must be at least 1", "--requests অন্তত 1 হতে হবে"))
    settings = config.load()
    try:
        version = enable(settings)
        print(text(say(f"published version {version} behind alias {ALIAS}, one environment provisioned",
                       f"alias {ALIAS}-এর পেছনে version {version} publish হলো, একটা environment provision করা"),
                   settings.lang))
        print(format_calls(compare(settings, args.requests), settings.lang))
    finally:
        removed = joined(disable(settings), ", ") or say("nothing", "কিছু না")
        print(text(say("removed: ", "সরানো হলো: ") + removed, settings.lang))
    return 0


if __name__ == "__main__":
    run_cli(main)
