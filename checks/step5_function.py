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
import secrets

from . import cases, cloud, digests
from .context import SETOSA
from .framework import CheckFailed, CheckSkipped, Plan, joined, say, step

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
    memory = cases.draw(5).choice([m for m in RERUN_MEMORY_MB if m not in (ctx.settings.memory_mb, before["MemorySize"])])
    secret = {"before": before, "token": token, "memory": memory}
    try:
        images = [digests.new_digest(ctx, before["ImageUri"], before["Digest"], tag) for tag in tags]
        ctx.client("lambda").tag_resource(Resource=before["FunctionArn"], Tags={MARKER: token})
    except Exception as error:  # noqa: BLE001 - e.g. a registry that refuses the grader: no rerun, said so
        why = f"{type(error).__name__}: {str(error)[:120]}"
        secret["problem"] = say(f"the grader could not prepare its rerun ({why})",
                                f"grader তার rerun-এর প্রস্তুতি নিতে পারেনি ({why})")
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
        kind = type(error).__name__
        seen = {"problem": say(f"the grader could not read the function after the rerun ({kind})",
                               f"rerun-এর পরে grader function-টা পড়তে পারেনি ({kind})")}
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
        return None, None, run.todo(returned.get("todo")) or returned["error"]
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
        raise CheckFailed(say(f"PackageType, State, LastUpdateStatus are {state}",
                              f"PackageType, State, LastUpdateStatus হলো {state}"))
    if run.plan.secret.get("problem"):
        return run.plan.secret["problem"]
    notes = []
    for call, what in (("deploy_creates", say("creating a function", "একটা function বানানোর সময়")),
                       ("deploy_updates", say("updating the function", "function update করার সময়"))):
        returned, seen, error = on_return(run, call)
        if error:
            if call == "deploy_creates" and not denied(error):
                raise CheckFailed(say(f"deploy() failed {what}: {error}", f"{what.bn} deploy() ব্যর্থ হয়েছে: {error}"))
            notes.append(say(f"deploy() {what} was not seen: {error[:100]}",
                             f"{what.bn} deploy() দেখা যায়নি: {error[:100]}"))
            continue
        said = tuple((returned or {}).get(k) for k in ("State", "LastUpdateStatus"))
        now = tuple((seen or {}).get(k) for k in ("State", "LastUpdateStatus"))
        if said != READY or now != READY:
            raise CheckFailed(say(f"{what}, deploy() returned while the function was {now} (its answer said {said}); "
                                  f"wait until it is {READY}",
                                  f"{what.bn} deploy() ফিরে এসেছে যখন function ছিল {now} (তার উত্তর বলেছে {said}); "
                                  f"{READY} না হওয়া পর্যন্ত অপেক্ষা করো"))
    return joined(notes)


@STEP.check("it runs the pushed image by digest", points=2, todos=(DEPLOY,),
            hint="Deploy ImageUri=REPOSITORY@sha256:… (the digest from the push), not a mutable tag.")
def runs_digest(run):
    image_uri = run.plan.secret["before"]["ImageUri"]
    digest = cloud.pushed_digest(run)
    if not image_uri.endswith("@" + digest):
        latest = f"{run.settings.repository}:latest"
        raise CheckFailed(say(f"the function runs {image_uri}; ECR's {latest} is {digest[:19]}…",
                              f"function চালায় {image_uri}; ECR-এর {latest} হলো {digest[:19]}…"))


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
    extra = [arn for arn in attached if arn != BASIC_EXECUTION_POLICY]
    problems = []
    if principals != ["lambda.amazonaws.com"]:
        problems.append(say(f"trusted principals are {principals}", f"role trust করে {principals}-কে"))
    if untagged:
        problems.append(say(f"the role lacks the tag{'s' if len(untagged) > 1 else ''} {untagged} (cleanup finds it by them)",
                            f"role-এ {untagged} tag নেই (cleanup এগুলো দেখেই role খুঁজে পায়)"))
    if BASIC_EXECUTION_POLICY not in attached:
        problems.append(say(f"AWSLambdaBasicExecutionRole is not attached (attached policies are {attached})",
                            f"AWSLambdaBasicExecutionRole attach করা নেই (attach করা policy: {attached})"))
    if extra:  # often left by an earlier run: IAM keeps an attachment when the code that made it is gone
        problems.append(say(
            f"the role also has {extra} attached. If your code no longer attaches it, an earlier run left it: IAM "
            "keeps an attachment until it is detached. Detach it (IAM detach_role_policy) and grade again, or run "
            "the cleanup (notebook 08) and deploy again from notebook 04",
            f"role-এ {extra}-ও attach করা আছে। তোমার code এখন আর এটা attach না করলে, আগের কোনো run এটা রেখে গেছে: "
            "detach না করা পর্যন্ত IAM attachment রেখে দেয়। এটা detach করো (IAM detach_role_policy) আর আবার grade "
            "করো, অথবা cleanup চালাও (notebook 08) আর notebook 04 থেকে আবার deploy করো"))
    if inline:
        problems.append(say(
            f"the role has inline policies {inline}. If your code no longer puts them, an earlier run left them: "
            "delete them (IAM delete_role_policy) and grade again",
            f"role-এ inline policy {inline} আছে। তোমার code এখন আর এগুলো না বসালে, আগের কোনো run রেখে গেছে: এগুলো "
            "মুছে দাও (IAM delete_role_policy) আর আবার grade করো"))
    if problems:
        raise CheckFailed(joined(problems))


@STEP.check("memory, timeout and architecture match the lab settings", points=1, todos=(DEPLOY,),
            hint="Pass MemorySize, Timeout and Architectures from the settings (LAB_MEMORY_MB, LAB_TIMEOUT_S, LAB_ARCH).")
def sized(run):
    wanted = (run.settings.memory_mb, run.settings.timeout_s, [run.settings.architecture])
    looks = [(say("the function", "function-টা"), run.plan.secret["before"])]
    if not run.plan.secret.get("problem"):
        returned, seen, _ = on_return(run, "deploy_creates")
        looks += [(say("a function deploy() creates", "deploy() যে function বানায়"), seen)] if seen and "MemorySize" in seen else []
    for what, found in looks:
        got = (found["MemorySize"], found["Timeout"], found.get("Architectures"))
        if got != wanted:
            raise CheckFailed(say(f"{what}: memory, timeout, architectures are {got}; expected {wanted}",
                                  f"{what.bn}: memory, timeout, architectures হলো {got}; আশা ছিল {wanted}"))


@STEP.check("a direct invoke answers with the right species", points=2, todos=(DEPLOY,),
            hint="Check the function's logs in CloudWatch (/aws/lambda/<name>) for the error.")
def answers(run):
    answer = run.client("lambda").invoke(FunctionName=run.settings.function_name, Payload=json.dumps(SETOSA).encode())
    payload = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        error = f"{payload.get('errorType')}: {payload.get('errorMessage')}"
        raise CheckFailed(say(f"the function failed: {error}", f"function ব্যর্থ হয়েছে: {error}"))
    body = json.loads(payload.get("body", "{}")) if isinstance(payload, dict) else {}
    if body.get("prediction") != "setosa":
        raise CheckFailed(say(f"a setosa got {str(payload)[:120]}", f"একটা setosa পেয়েছে {str(payload)[:120]}"))


@STEP.check("a rerun of deploy() with a new image and memory size updates the same function", points=1,
            todos=(DEPLOY,),
            hint="get_function first; when the function exists, update the code and the configuration that differ "
                 "(the ImageUri you are given, the settings' sizes) instead of creating or recreating it.")
def redeploys(run):
    secret = run.plan.secret
    if secret.get("problem"):
        raise CheckSkipped(secret["problem"])
    if (said := cloud.conflict(run.value("deploy_updates").get("returned"))) is not None:
        raise CheckFailed(say(f"a rerun of deploy() failed: Lambda answered ResourceConflictException ({said})",
                              f"deploy() আবার চালাতে ব্যর্থ হয়েছে: Lambda ResourceConflictException দিয়েছে ({said})"))
    _, _, error = on_return(run, "deploy_updates")
    if error:
        raise CheckFailed(say(f"a rerun of deploy() failed: {error}", f"deploy() আবার চালাতে ব্যর্থ হয়েছে: {error}"))
    seen = run.facts.get("rerun") or {}
    if "problem" in seen:
        raise CheckFailed(seen["problem"])
    wanted_digest = secret["images"][1].rsplit("@", 1)[1]
    problems = ([] if seen["ImageUri"].endswith("@" + wanted_digest) else
                [say(f"it runs {seen['ImageUri']}, not the image it was given ({wanted_digest[:19]}…)",
                     f"এটা চালায় {seen['ImageUri']}, যে image দেওয়া হয়েছিল ({wanted_digest[:19]}…) সেটা নয়")])
    problems += [] if seen["MemorySize"] == secret["memory"] else [
        say(f"its memory is {seen['MemorySize']} MB, not the {secret['memory']} MB of the settings it was given",
            f"এর memory {seen['MemorySize']} MB, দেওয়া settings-এর {secret['memory']} MB নয়")]
    problems += [] if seen["marked"] else [say(
        "the function was deleted and created again (it lost its tags; a recreated function also loses its permissions)",
        "function-টা মুছে আবার বানানো হয়েছে (এর tag হারিয়ে গেছে; নতুন করে বানানো function তার permission-ও হারায়)")]
    if problems:
        raise CheckFailed(say("after a rerun of deploy(): ", "deploy() আবার চালানোর পরে: ") + joined(problems))
