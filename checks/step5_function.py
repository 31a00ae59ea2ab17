"""Step 5: the function runs the pushed image, with a least-privilege role, and answers."""

from __future__ import annotations

import json

from .context import SETOSA

from . import cloud
from .framework import CheckFailed, Plan, joined, say, step

BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"  # AWS's own
ROLE, DEPLOY = "function.py:ensure_role", "function.py:deploy"
STEP = step(5)
STEP.unobserved = (ROLE,)  # the probe only redeploys: an open ensure_role() is found in the source


@STEP.observe
def plan(ctx) -> Plan:
    """deploy() runs once more only on a function the student made, with the image and role it runs now."""
    function = cloud.function(ctx)
    request = {"calls": ["deploy_again"], "image_uri": function["Code"].get("ImageUri", ""),
               "role_arn": function["Configuration"]["Role"]}
    return Plan("calls", request, ctx.submission_files(), timeout=120, network=True, lab_environment=True)


@STEP.check("the function is a container-image function, Active and up to date", points=2, todos=(DEPLOY,),
            hint="create_function(PackageType='Image', Code={'ImageUri': ...}), then wait with function_active_v2.")
def active(run):
    configuration = cloud.function(run)["Configuration"]
    state = (configuration.get("PackageType"), configuration.get("State"), configuration.get("LastUpdateStatus"))
    if state != ("Image", "Active", "Successful"):
        raise CheckFailed(say(f"PackageType, State, LastUpdateStatus are {state}",
                              f"PackageType, State, LastUpdateStatus হলো {state}"))


@STEP.check("it runs the pushed image by digest", points=2, todos=(DEPLOY,), needs="the function is a container-image function, Active and up to date",
            hint="Deploy ImageUri=REPOSITORY@sha256:… (the digest from the push), not a mutable tag.")
def runs_digest(run):
    image_uri = cloud.function(run)["Code"].get("ImageUri", "")
    digest = cloud.pushed_digest(run)
    if not image_uri.endswith("@" + digest):
        latest = f"{run.settings.repository}:latest"
        raise CheckFailed(say(f"the function runs {image_uri}; ECR's {latest} is {digest[:19]}…",
                              f"function চালায় {image_uri}; ECR-এর {latest} হলো {digest[:19]}…"))


@STEP.check("its role trusts only Lambda and may only write logs", points=2, todos=(ROLE, DEPLOY),
            needs="the function is a container-image function, Active and up to date",
            hint="Trust lambda.amazonaws.com only; attach AWSLambdaBasicExecutionRole and nothing else; "
                 "create the role with the lab's tags (Tags=[{'Key': 'lab', 'Value': 'serverless-iris'}]).")
def least_privilege(run):
    role_name = cloud.function(run)["Configuration"]["Role"].rsplit("/", 1)[-1]
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
            needs="the function is a container-image function, Active and up to date",
            hint="Pass MemorySize, Timeout and Architectures from the settings (LAB_MEMORY_MB, LAB_TIMEOUT_S, LAB_ARCH).")
def sized(run):
    configuration = cloud.function(run)["Configuration"]
    got = (configuration["MemorySize"], configuration["Timeout"], configuration.get("Architectures"))
    wanted = (run.settings.memory_mb, run.settings.timeout_s, [run.settings.architecture])
    if got != wanted:
        raise CheckFailed(say(f"memory, timeout, architectures are {got}; expected {wanted}",
                              f"memory, timeout, architectures হলো {got}; আশা ছিল {wanted}"))


@STEP.check("a direct invoke answers with the right species", points=2, todos=(DEPLOY,),
            needs="the function is a container-image function, Active and up to date",
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


@STEP.check("deploy() can run twice", points=1, todos=(DEPLOY,), needs="the function is a container-image function, Active and up to date",
            hint="get_function first; when the function exists, update its code and configuration instead of creating it.")
def redeploys(run):
    if (said := cloud.conflict(run.records.get("deploy_again"))) is not None:
        raise CheckFailed(say(f"the second deploy() failed: Lambda answered ResourceConflictException ({said})",
                              f"দ্বিতীয় deploy() ব্যর্থ হয়েছে: Lambda ResourceConflictException দিয়েছে ({said})"))
    again = run.value("deploy_again")
    arn = cloud.function(run)["Configuration"]["FunctionArn"]
    if not isinstance(again, dict) or again.get("FunctionArn") != arn:
        raise CheckFailed(say(f"a second deploy() returned {str(again)[:120]}, not the function's configuration",
                              f"দ্বিতীয় deploy() ফেরত দিয়েছে {str(again)[:120]}, function-এর configuration নয়"))
