"""Step 4: the image is in ECR, in a repository set up the way production ones are; ensure_repository() finds its own.

The repository is judged as the student's code left it, looked at before anything of the grader's runs. Then,
with a decoy repository of the grader's present first (tagged like the lab's), the student's
``ensure_repository()`` runs on the student's repository, and twice on a repository of the grader's own name
(create, then find): each call must return its own repository. The grader removes both of its repositories.
"""

from __future__ import annotations

import contextlib
import json
import secrets

from . import cloud
from .framework import CheckFailed, CheckSkipped, Plan, say, step

STEP = step(4)
SINGLE_IMAGE_MANIFESTS = ("application/vnd.docker.distribution.manifest.v2+json",
                          "application/vnd.oci.image.manifest.v1+json")
ENSURE, PUSH = "registry.py:ensure_repository", "registry.py:push"
STEP.unobserved = (PUSH,)  # the grader never pushes: an image it finds must be the student's push


def facts(run, repository: dict) -> dict:
    """The repository's URI, tags, scanning and lifecycle policy."""
    ecr = run.client("ecr")
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]}
    try:
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=repository["repositoryName"])["lifecyclePolicyText"])
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        policy = None
    return {"uri": repository["repositoryUri"], "tags": tags, "policy": policy,
            "scan": bool(repository.get("imageScanningConfiguration", {}).get("scanOnPush"))}


@STEP.observe
def plan(ctx) -> Plan:
    """The student's repository as it is; then a decoy first, and ensure_repository() on theirs and on the grader's."""
    before = facts(ctx, cloud.repository(ctx))
    token = secrets.token_hex(4)
    decoy, fresh = f"grader-decoy-{token}", f"grader-repo-{token}"
    secret = {"before": before, "fresh": fresh}
    try:
        ctx.client("ecr").create_repository(repositoryName=decoy, tags=[
            {"Key": k, "Value": v} for k, v in {**ctx.settings.tags, "grader": "decoy"}.items()])
    except Exception as error:  # noqa: BLE001 - e.g. an account that may not create it: that part is skipped
        kind = type(error).__name__
        secret["problem"] = say(f"the grader could not create its decoy repository ({kind})",
                                f"grader তার decoy repository বানাতে পারেনি ({kind})")

    def after(run) -> dict:
        ecr = run.client("ecr")
        seen = {}
        with contextlib.suppress(Exception):
            seen["fresh"] = len(ecr.describe_repositories(repositoryNames=[fresh])["repositories"])
        for name in (decoy, fresh):
            with contextlib.suppress(Exception):
                ecr.delete_repository(repositoryName=name, force=True)
        return {"rerun": seen}

    calls = ["ensure_repository_own"] + ([] if secret.get("problem") else ["ensure_repository_fresh"])
    return Plan("calls", {"calls": calls, "fresh": fresh}, ctx.submission_files(), timeout=120, network=True,
                lab_environment=True, secret=secret, after=after)


@STEP.check("the ECR repository exists and carries the lab tag", points=1, todos=(ENSURE,),
            hint="create_repository(repositoryName=..., tags=[{'Key': 'lab', 'Value': 'serverless-iris'}]).")
def repository_exists(run):
    tags = run.plan.secret["before"]["tags"]
    if tags.get("lab") != run.settings.tags["lab"]:
        raise CheckFailed(say(f"its tags are {tags}", f"এর tag-গুলো হলো {tags}"))


@STEP.check("images are scanned on push and old ones expire", points=1, todos=(ENSURE,), needs="the ECR repository exists and carries the lab tag",
            hint="Set imageScanningConfiguration={'scanOnPush': True} and put_lifecycle_policy with an expire rule.")
def repository_policies(run):
    before = run.plan.secret["before"]
    if not before["scan"]:
        raise CheckFailed(say("scanOnPush is off", "scanOnPush বন্ধ"))
    if before["policy"] is None:
        raise CheckFailed(say("the repository has no lifecycle policy", "repository-র কোনো lifecycle policy নেই"))
    if not any(rule.get("action", {}).get("type") == "expire" for rule in before["policy"].get("rules", [])):
        raise CheckFailed(say("the lifecycle policy has no expire rule", "lifecycle policy-তে কোনো expire rule নেই"))


@STEP.check("the repository holds the image under its tag, as a single-platform manifest", points=2, todos=(PUSH,),
            needs="the ECR repository exists and carries the lab tag",
            hint="Push with docker push after docker login; build without provenance attestations (Lambda rejects indexes).")
def image_pushed(run):
    digest = cloud.pushed_digest(run)
    images = run.client("ecr").batch_get_image(repositoryName=run.settings.repository,
                                               imageIds=[{"imageDigest": digest}])["images"]
    media_type = images[0].get("imageManifestMediaType") if images else None
    if media_type not in SINGLE_IMAGE_MANIFESTS:
        raise CheckFailed(say(f"the manifest is {media_type}; Lambda only accepts a single image manifest",
                              f"manifest হলো {media_type}; Lambda শুধু একটা single image manifest নেয়"))
    return digest[:19] + "…"


@STEP.check("ensure_repository() returns its own repository, created once, whatever else the account holds",
            points=1, todos=(ENSURE,), needs="the ECR repository exists and carries the lab tag",
            hint="Create the repository by its name; on RepositoryAlreadyExistsException describe that repository "
                 "(repositoryNames=[...]) and return it, not the account's first one.")
def idempotent(run):
    own, theirs = run.value("ensure_repository_own"), run.plan.secret["before"]["uri"]
    if own != theirs:
        raise CheckFailed(say(f"on the existing repository it returned {own!r}, not {theirs!r}",
                              f"আগে থেকে থাকা repository-তে এটা ফেরত দিয়েছে {own!r}, {theirs!r} নয়"))
    if run.plan.secret.get("problem"):
        raise CheckSkipped(run.plan.secret["problem"])
    fresh = run.plan.secret["fresh"]
    created, again = run.value("ensure_repository_fresh")
    for when, answer in ((say("creating", "বানানোর সময়"), created), (say("finding", "খোঁজার সময়"), again)):
        if isinstance(answer, dict) and "error" in answer:
            raise CheckFailed(run.todo(answer.get("todo")) or say(
                f"{when} repository {fresh} it failed: {answer['error']}",
                f"repository {fresh} {when.bn} এটা ব্যর্থ হয়েছে: {answer['error']}"))
        if not (isinstance(answer, dict) and str(answer.get("value", "")).endswith("/" + fresh)):
            got = str(answer.get("value") if isinstance(answer, dict) else answer)[:100]
            raise CheckFailed(say(f"{when} repository {fresh} (another repository was there first) it returned {got}",
                                  f"repository {fresh} {when.bn} (আগে থেকে আরেকটা repository ছিল) এটা ফেরত দিয়েছে {got}"))
    if (run.facts.get("rerun") or {}).get("fresh") != 1:
        raise CheckFailed(say(f"after two calls there is no single repository {fresh}",
                              f"দুটো call-এর পরে ঠিক একটা repository {fresh} নেই"))
