"""Step 5: the function runs the pushed image, with a least-privilege role, and answers; deploy() waits and converges.

The function is judged as the student's code left it, looked at before anything of the grader's runs. Then the
student's ``deploy()`` runs twice in the sandbox: it creates a function of the grader's own name (what a first
deploy leaves the moment it returns), and it reruns on the student's function with an image digest and a memory
size it has never seen (the update path). The grader looks, then puts the student's function back as it was and
removes what it made.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets

from .context import SETOSA

from . import cloud, digests
from .framework import CheckFailed, CheckSkipped, Plan, step

BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"  # AWS's own
ROLE, DEPLOY = "function.py:ensure_role", "function.py:deploy"
STEP = step(5)
STEP.unobserved = (ROLE,)  # the probe only deploys: an open ensure_role() is found in the source
RERUN_MEMORY_MB = (512, 768, 1536, 2048, 3008)
MARKER = "grader-rerun"  # a tag the grader puts on the student's function: a rerun that recreates it loses it
READY = ("Active", "Successful")


def facts(function: dict) -> dict:
    """What the checks read of a function (get_function's answer)."""
    configuration, code = function["Configuration"], function["Code"]
    resolved = code.get("ResolvedImageUri", "")  # REPOSITORY@sha256:…, whatever tag the function was given
    return {"ImageUri": code.get("ImageUri", ""), "CodeSha256": configuration.get("CodeSha256", ""),
            "Digest": resolved.rsplit("@", 1)[1] if "@" in resolved else "sha256:" + configuration.get("CodeSha256", ""),
            "FunctionArn": configuration["FunctionArn"], "Role": configuration["Role"],
            "PackageType": configuration.get("PackageType"), "State": configuration.get("State"),
            "LastUpdateStatus": configuration.get("LastUpdateStatus"), "MemorySize": configuration.get("MemorySize"),
            "Timeout": configuration.get("Timeout"), "Architectures": configuration.get("Architectures")}


@STEP.observe
def plan(ctx) -> Plan:
    """The student's function, looked at first; then the student's deploy() creates one and updates theirs."""
    before = facts(cloud.function(ctx))
    token = secrets.token_hex(4)
    tags = [f"grader-rerun-{token}-{n}" for n in (1, 2)]
    repository = digests.repository_of(before["ImageUri"]).split("/", 1)[-1]  # where the grader's images go
    memory = random.choice([m for m in RERUN_MEMORY_MB if m not in (ctx.settings.memory_mb, before["MemorySize"])])
    secret = {"before": before, "token": token, "memory": memory}
    try:
        images = [digests.new_digest(ctx, before["ImageUri"], before["Digest"], tag) for tag in tags]
        ctx.client("lambda").tag_resource(Resource=before["FunctionArn"], Tags={MARKER: token})
    except Exception as error:  # noqa: BLE001 - e.g. a registry that refuses the grader: no rerun, said so
        secret["problem"] = f"the grader could not prepare its rerun ({type(error).__name__}: {str(error)[:120]})"
        return Plan("calls", {"calls": []}, ctx.submission_files(), timeout=30, network=True, lab_environment=True,
                    secret=secret, after=lambda run: digests.forget(run, repository, tags))
    fresh = f"grader-probe-{token}"
    request = {"calls": ["deploy_creates", "deploy_updates"], "role_arn": before["Role"],
               "creates": {"name": fresh, "image_uri": images[0]}, "updates": {"image_uri": images[1], "memory_mb": memory}}

    def after(run) -> dict:
        return {"rerun": look_and_restore(run, before, fresh, token, repository, tags)}

    return Plan("calls", request, ctx.submission_files(), timeout=180, network=True, lab_environment=True,
                secret={**secret, "images": images}, after=after)


def look_and_restore(run, before: dict, fresh: str, token: str, repository: str, tags: list[str]) -> dict:
    """What the student's rerun left on their function; then the function as it was, and nothing of the grader's."""
    awslambda, name = run.client("lambda"), run.settings.function_name
    seen: dict = {}
    try:
        seen = facts(awslambda.get_function(FunctionName=name))
        seen["marked"] = awslambda.list_tags(Resource=seen["FunctionArn"]).get("Tags", {}).get(MARKER) == token
    except Exception as error:  # noqa: BLE001
        seen = {"problem": f"the grader could not read the function after the rerun ({type(error).__name__})"}
    finally:
        _tidy(awslambda, name, fresh, before)
        digests.forget(run, repository, tags)
    return seen


def _tidy(awslambda, name: str, fresh: str, before: dict) -> None:
    """The student's function back to its image and sizes, the marker off, the grader's function gone."""
    steps = [lambda: awslambda.delete_function(FunctionName=fresh),
             lambda: awslambda.get_waiter("function_updated_v2").wait(FunctionName=name),
             lambda: _put_back(awslambda, name, before),
             lambda: awslambda.untag_resource(Resource=before["FunctionArn"], TagKeys=[MARKER])]
    for step_ in steps:
        with contextlib.suppress(Exception):  # each step runs whatever the previous did
            step_()


def _put_back(awslambda, name: str, before: dict) -> None:
    now = facts(awslambda.get_function(FunctionName=name))
    if (now["ImageUri"], now["Architectures"]) != (before["ImageUri"], before["Architectures"]):
        awslambda.update_function_code(FunctionName=name, ImageUri=before["ImageUri"], Architectures=before["Architectures"])
        awslambda.get_waiter("function_updated_v2").wait(FunctionName=name)
    sizes = {k: before[k] for k in ("MemorySize", "Timeout", "Role") if now[k] != before[k]}
    if sizes:
        awslambda.update_function_configuration(FunctionName=name, **sizes)
        awslambda.get_waiter("function_updated_v2").wait(FunctionName=name)


def on_return(run, call: str) -> tuple[dict | None, dict | None, str]:
    """(what deploy() returned, what Lambda said the moment it returned, its error) for one of the probe's calls."""
    observed = run.value(call)
    returned = observed.get("returned") or {}
    if "error" in returned:
        return None, None, returned.get("todo") or returned["error"]
    return returned.get("value"), observed.get("seen"), ""


def denied(error: str) -> bool:
    """An error that says the account may not do this (the lab's IAM policy names only the lab's resources)."""
    return any(code in error for code in ("AccessDenied", "not authorized", "UnauthorizedOperation"))


@STEP.check("the function is a container-image function, Active and up to date", points=2, todos=(DEPLOY,),
            hint="deploy(): create_function(PackageType='Image', Code={'ImageUri': ...}), then wait with "
                 "function_active_v2; after each update wait with function_updated_v2, before returning.")
def active(run):
    before = run.plan.secret["before"]
    state = (before["PackageType"], before["State"], before["LastUpdateStatus"])
    if state != ("Image", *READY):
        raise CheckFailed(f"PackageType, State, LastUpdateStatus are {state}")
    if run.plan.secret.get("problem"):
        return run.plan.secret["problem"]
    notes = []
    for call, what in (("deploy_creates", "creating a function"), ("deploy_updates", "updating the function")):
        returned, seen, error = on_return(run, call)
        if error:
            if call == "deploy_creates" and not denied(error):
                raise CheckFailed(f"deploy() failed {what}: {error}")
            notes.append(f"deploy() {what} was not seen: {error[:100]}")
            continue
        said = tuple((returned or {}).get(k) for k in ("State", "LastUpdateStatus"))
        now = tuple((seen or {}).get(k) for k in ("State", "LastUpdateStatus"))
        if said != READY or now != READY:
            raise CheckFailed(f"{what}, deploy() returned while the function was {now} (its answer said {said}); "
                              f"wait until it is {READY}")
    return "; ".join(notes)


@STEP.check("it runs the pushed image by digest", points=2, todos=(DEPLOY,),
            hint="Deploy ImageUri=REPOSITORY@sha256:… (the digest from the push), not a mutable tag.")
def runs_digest(run):
    image_uri = run.plan.secret["before"]["ImageUri"]
    digest = cloud.pushed_digest(run)
    if not image_uri.endswith("@" + digest):
        raise CheckFailed(f"the function runs {image_uri}; ECR's {run.settings.repository}:latest is {digest[:19]}…")


@STEP.check("its role trusts only Lambda and may only write logs", points=2, todos=(ROLE, DEPLOY),
            hint="Trust lambda.amazonaws.com only; attach AWSLambdaBasicExecutionRole and nothing else; "
                 "create the role with the lab's tags (Tags=[{'Key': 'lab', 'Value': 'serverless-iris'}]).")
def least_privilege(run):
    role_name = run.plan.secret["before"]["Role"].rsplit("/", 1)[-1]
    iam = run.client("iam")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    principals = [s.get("Principal", {}).get("Service") for s in trust.get("Statement", [])]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]]
    inline = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role_name)["Tags"]}
    untagged = {k: v for k, v in run.settings.tags.items() if tags.get(k) != v}
    problems = ([f"trusted principals are {principals}"] if principals != ["lambda.amazonaws.com"] else []) + \
        ([f"the role lacks the tag{'s' if len(untagged) > 1 else ''} {untagged} (cleanup finds it by them)"]
         if untagged else []) + \
        ([f"attached policies are {attached}"] if attached != [BASIC_EXECUTION_POLICY] else []) + \
        ([f"inline policies {inline}"] if inline else [])
    if problems:
        raise CheckFailed("; ".join(problems))


@STEP.check("memory, timeout and architecture match the lab settings", points=1, todos=(DEPLOY,),
            hint="Pass MemorySize, Timeout and Architectures from the settings (LAB_MEMORY_MB, LAB_TIMEOUT_S, LAB_ARCH).")
def sized(run):
    wanted = (run.settings.memory_mb, run.settings.timeout_s, [run.settings.architecture])
    looks = [("the function", run.plan.secret["before"])]
    if not run.plan.secret.get("problem"):
        returned, seen, _ = on_return(run, "deploy_creates")
        looks += [("a function deploy() creates", seen)] if seen and "MemorySize" in seen else []
    for what, found in looks:
        got = (found["MemorySize"], found["Timeout"], found.get("Architectures"))
        if got != wanted:
            raise CheckFailed(f"{what}: memory, timeout, architectures are {got}; expected {wanted}")


@STEP.check("a direct invoke answers with the right species", points=2, todos=(DEPLOY,),
            hint="Check the function's logs in CloudWatch (/aws/lambda/<name>) for the error.")
def answers(run):
    answer = run.client("lambda").invoke(FunctionName=run.settings.function_name, Payload=json.dumps(SETOSA).encode())
    payload = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        raise CheckFailed(f"the function failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
    body = json.loads(payload.get("body", "{}")) if isinstance(payload, dict) else {}
    if body.get("prediction") != "setosa":
        raise CheckFailed(f"a setosa got {str(payload)[:120]}")


@STEP.check("a rerun of deploy() with a new image and memory size updates the same function", points=1,
            todos=(DEPLOY,),
            hint="get_function first; when the function exists, update the code and the configuration that differ "
                 "(the ImageUri you are given, the settings' sizes) instead of creating or recreating it.")
def redeploys(run):
    secret = run.plan.secret
    if secret.get("problem"):
        raise CheckSkipped(secret["problem"])
    _, _, error = on_return(run, "deploy_updates")
    if error:
        raise CheckFailed(f"a rerun of deploy() failed: {error}")
    seen = run.facts.get("rerun") or {}
    if "problem" in seen:
        raise CheckFailed(seen["problem"])
    wanted_digest = secret["images"][1].rsplit("@", 1)[1]
    problems = ([] if seen["ImageUri"].endswith("@" + wanted_digest) else
                [f"it runs {seen['ImageUri']}, not the image it was given ({wanted_digest[:19]}…)"])
    problems += [] if seen["MemorySize"] == secret["memory"] else [
        f"its memory is {seen['MemorySize']} MB, not the {secret['memory']} MB of the settings it was given"]
    problems += [] if seen["marked"] else ["the function was deleted and created again (it lost its tags; a "
                                           "recreated function also loses its permissions)"]
    if problems:
        raise CheckFailed("after a rerun of deploy(): " + "; ".join(problems))
