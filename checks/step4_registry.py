"""Step 4: the image is in ECR, in a repository set up the way production ones are."""

from __future__ import annotations

import json

from . import cloud
from .framework import CheckFailed, Plan, say, step

STEP = step(4)
SINGLE_IMAGE_MANIFESTS = ("application/vnd.docker.distribution.manifest.v2+json",
                          "application/vnd.oci.image.manifest.v1+json")
ENSURE, PUSH = "registry.py:ensure_repository", "registry.py:push"
STEP.unobserved = (PUSH,)  # the grader never pushes: an image it finds must be the student's push


@STEP.observe
def plan(ctx) -> Plan:
    """ensure_repository() runs twice only on a repository the student made: grading must not create it."""
    cloud.repository(ctx)
    return Plan("calls", {"calls": ["ensure_repository_twice"]}, ctx.submission_files(), timeout=120, network=True,
                lab_environment=True)


@STEP.check("the ECR repository exists and carries the lab tag", points=1, todos=(ENSURE,),
            hint="create_repository(repositoryName=..., tags=[{'Key': 'lab', 'Value': 'serverless-iris'}]).")
def repository_exists(run):
    repository = cloud.repository(run)
    tags = {t["Key"]: t["Value"] for t in run.client("ecr").list_tags_for_resource(
        resourceArn=repository["repositoryArn"])["tags"]}
    if tags.get("lab") != run.settings.tags["lab"]:
        raise CheckFailed(say(f"its tags are {tags}", f"এর tag-গুলো হলো {tags}"))


@STEP.check("images are scanned on push and old ones expire", points=1, todos=(ENSURE,), needs="the ECR repository exists and carries the lab tag",
            hint="Set imageScanningConfiguration={'scanOnPush': True} and put_lifecycle_policy with an expire rule.")
def repository_policies(run):
    ecr = run.client("ecr")
    if not cloud.repository(run).get("imageScanningConfiguration", {}).get("scanOnPush"):
        raise CheckFailed(say("scanOnPush is off", "scanOnPush বন্ধ"))
    try:
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=run.settings.repository)["lifecyclePolicyText"])
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        raise CheckFailed(say("the repository has no lifecycle policy", "repository-র কোনো lifecycle policy নেই")) from None
    if not any(rule.get("action", {}).get("type") == "expire" for rule in policy.get("rules", [])):
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


@STEP.check("ensure_repository() can run twice", points=1, todos=(ENSURE,), needs="the ECR repository exists and carries the lab tag",
            hint="Catch RepositoryAlreadyExistsException and return the existing repository.")
def idempotent(run):
    first, second = run.value("ensure_repository_twice")
    if isinstance(second, dict) and "error" in second:
        raise CheckFailed(run.todo(second.get("todo")) or say(f"the second call failed: {second['error']}",
                                                              f"দ্বিতীয় call ব্যর্থ হয়েছে: {second['error']}"))
    if first != second.get("value"):
        raise CheckFailed(say("two calls returned different repositories", "দুটো call দুটো আলাদা repository ফেরত দিয়েছে"))
