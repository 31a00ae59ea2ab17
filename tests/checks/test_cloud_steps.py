"""Steps 5, 6 and 8 graded against a private host-mode stand-in, with one-mistake submissions of cloud_mutants/.

The mutation suite (test_mutants.py) grades steps 1-3 offline; these mistakes need a cloud.
Each patch has the mutation suite's header, plus ``# deploy: 6`` (the lab is first deployed
through step 6 with the mutant's own code, as its notebooks would) or ``# deploy: none``.
Every deployment gets its own LAB_NAME and is cleaned up afterwards, so one stand-in serves all.
A failure caused by state an earlier run left in the cloud says so, and how to clear it.
"""

from __future__ import annotations

import re
from pathlib import Path

import mutation
import pytest

from checks import Context, run_steps, step7_latency
from labkit import apis, aws, config, images, lambdas, plots, timing
from labkit.loader import import_from_folder
from localcloud import process

pytestmark = pytest.mark.integration
BENGALI = re.compile(r"[\u0980-\u09FF]")
EXTRA_POLICY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

CLOUD_MUTANTS = mutation.mutants_in(Path(__file__).resolve().parent / "cloud_mutants")


@pytest.fixture(scope="module")
def cloud():
    with process.running(mode="host") as instance:
        yield instance


def settings_for(cloud, code: Path | str, build: Path, name: str = "serverless-iris") -> config.Settings:
    return config.load({"LAB_TARGET": "local", "LAB_ENDPOINT_URL": cloud.endpoint, "LAB_DOCKER": "off",
                        "LAB_NAME": name}, code=str(code), build_dir=build)


def deploy(settings: config.Settings, code: Path) -> None:
    """Notebooks 01 and 03-06 with the submission's own code: train, stage, push, deploy, expose."""
    def module(name):
        return import_from_folder(code, name)

    module("train").train(settings.model_dir)
    images.stage(settings, code)
    pushed = module("registry").publish(settings)
    lambdas.ensure_log_group(settings)
    function = module("function")
    configuration = function.deploy(settings, pushed.uri, function.ensure_role(settings))
    module("gateway").ensure_api(settings, configuration["FunctionArn"])


def clean_up(settings: config.Settings) -> None:
    from lab_solution import cleanup

    for _ in range(3):  # a second API (a mistake's) is found only once the first is gone
        if not cleanup.clean_up(settings)[0]:
            return
    iam = aws.client(settings, "iam")  # an untagged role (a mistake's) is not the lab's to find
    for role in iam.list_roles()["Roles"]:
        if role["RoleName"] == settings.role_name:
            for policy in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=policy["PolicyArn"])
            iam.delete_role(RoleName=role["RoleName"])


def deployed_state(settings: config.Settings) -> dict:
    """What the grader's reruns of steps 4-6 touch, as the deployment left it."""
    from checks import cloud

    awslambda, apigw = aws.client(settings, "lambda"), aws.client(settings, "apigatewayv2")
    function = awslambda.get_function(FunctionName=settings.function_name)
    apis = [a["ApiId"] for a in apigw.get_apis()["Items"] if a["Name"] == settings.api_name]
    images = aws.client(settings, "ecr").describe_images(repositoryName=settings.repository)["imageDetails"]
    return {"image": function["Code"]["ImageUri"], "memory": function["Configuration"]["MemorySize"],
            "tags": function.get("Tags"), "apis": apis,
            "stages": [(s["StageName"], s["AutoDeploy"]) for a in apis for s in apigw.get_stages(ApiId=a)["Items"]],
            "permissions": [(s["Sid"], str(s.get("Condition"))) for s in cloud.invoke_statements(
                type("Look", (), {"settings": settings, "client": lambda self, service: aws.client(settings, service)})())],
            "images": sorted((i["imageDigest"], tuple(i.get("imageTags", []))) for i in images)}


def grader_resources(settings: config.Settings) -> list[str]:
    return [*(r["repositoryName"] for r in aws.client(settings, "ecr").describe_repositories()["repositories"]),
            *(g["logGroupName"] for g in aws.client(settings, "logs").describe_log_groups()["logGroups"]),
            *(a["Name"] for a in aws.client(settings, "apigatewayv2").get_apis()["Items"]),
            *(r["RoleName"] for r in aws.client(settings, "iam").list_roles()["Roles"])]


def test_the_reference_keeps_full_marks_on_steps_4_to_6_and_the_reruns_leave_nothing(cloud, tmp_path):
    settings = settings_for(cloud, "lab_solution", tmp_path / "build", "iris-reference")
    deploy(settings, mutation.SOLUTION)
    try:
        before = deployed_state(settings)
        report = run_steps([4, 5, 6], Context(settings))
        assert report.passed and report.earned == report.possible, report.summary()
        # the grader's reruns changed the function, its permission and the stage; it put them back and made nothing
        assert deployed_state(settings) == before
        assert not [r for r in grader_resources(settings) if "grader-" in r]
        functions = [f["FunctionName"] for f in aws.client(settings, "lambda").list_functions()["Functions"]]
        assert not [f for f in functions if f.startswith("grader-")]
    finally:
        clean_up(settings)


def test_step_7_judges_the_report_by_lambdas_log_and_its_own_timing_not_only_by_itself(cloud, tmp_path):
    from lab_solution import latency

    # given the reference deployed and measured, as notebook 07 does
    settings = settings_for(cloud, "lab_solution", tmp_path / "build", "iris-latency")
    deploy(settings, mutation.SOLUTION)
    try:
        url = apis.find_api(settings, aws.client(settings, "apigatewayv2"))["ApiEndpoint"] + "/predict"
        samples = latency.measure(settings, url, rounds=2)

        def report(measured):
            timing.write_samples(measured, settings.latency_dir)
            timing.write_summary(latency.summarize(measured), settings.latency_dir)
            plots.plot(measured, settings.latency_dir / "latency.png")
            graded = run_steps([7], Context(settings))
            return graded, {r.name for r in graded.results if not r.passed}

        # when it is graded, then full marks
        graded, failed = report(samples)
        assert not failed and graded.earned == graded.possible, graded.summary()
        # when the same requests are reported in seconds (the * 1000 forgotten), a report consistent with itself
        for sample in samples:
            sample.latency_ms = round(sample.latency_ms / 1000, 6)
        graded, failed = report(samples)
        # then Lambda's REPORT lines and the grader's own timing both say so
        assert failed == {c.name for c in step7_latency.STEP.checks
                          if c.func in (step7_latency.as_logged, step7_latency.agrees_with_the_grader)}, graded.summary()
    finally:
        clean_up(settings)


def test_step_8_gives_the_reference_full_marks_and_leaves_no_decoy(cloud, tmp_path):
    settings = settings_for(cloud, "lab_solution", tmp_path / "build")
    report = run_steps([8], Context(settings))
    assert report.passed and report.earned == report.possible, report.summary()
    assert not [r for r in grader_resources(settings) if "grader-" in r]


def test_step_8_gives_the_untouched_exercise_nothing_and_leaves_no_decoy(cloud, tmp_path):
    settings = settings_for(cloud, "exercises", tmp_path / "build")
    report = run_steps([8], Context(settings))
    assert report.earned == 0, report.summary()
    assert not [r for r in grader_resources(settings) if "grader-" in r]


def test_step_8_blames_ensure_api_for_a_second_api(cloud, tmp_path):
    # given two tagged APIs of the lab's name, as an ensure_api() that never looks first leaves
    settings = settings_for(cloud, "lab_solution", tmp_path / "build")
    apigw = aws.client(settings, "apigatewayv2")
    for _ in range(2):
        apigw.create_api(Name=settings.api_name, ProtocolType="HTTP", Tags=dict(settings.tags))
    try:
        report = run_steps([8], Context(settings))
        [left] = [r for r in report.results if r.name == "nothing tagged lab=serverless-iris remains"]
        assert not left.passed and "ensure_api()" in left.message and "2 HTTP APIs" in left.message, left.message
    finally:
        clean_up(settings)


@pytest.mark.parametrize("wrong", CLOUD_MUTANTS, ids=[m.name for m in CLOUD_MUTANTS])
def test_a_cloud_mistake_loses_the_points_it_should(cloud, tmp_path, wrong):
    code = mutation.submission(wrong, tmp_path)
    deployed = re.search(r"^# deploy: (\w+)$", wrong.patch.read_text(), re.M)[1]
    settings = settings_for(cloud, code, tmp_path / "build", "serverless-iris" if deployed == "none" else "iris-" + wrong.name[:20].replace("_", "-"))
    try:
        if deployed != "none":
            deploy(settings, code)
        report = run_steps(wrong.steps, Context(settings), isolation="process")
        failed = {r.name for r in report.results if not r.passed and not r.skipped}
        assert wrong.loses <= failed <= wrong.loses | wrong.may_lose, report.summary()
        assert all(BENGALI.search(r.shown("bn")["message"]) for r in report.results if not r.passed), report.summary("bn")
        assert not [r.message for r in report.results if str(r.message).startswith(("LabError", "ClientError"))], (
            "a raw exception reached the report")
    finally:
        clean_up(settings)


def leave_an_extra_policy(settings: config.Settings) -> None:
    """What an earlier run leaves when its code attached a policy, then the attach was removed from the code."""
    aws.client(settings, "iam").attach_role_policy(RoleName=settings.role_name, PolicyArn=EXTRA_POLICY)


def leave_a_permission_for_an_earlier_api(settings: config.Settings) -> None:
    """What an earlier API leaves on the function when it is deleted and the lab makes a new one."""
    awslambda = aws.client(settings, "lambda")
    account = awslambda.get_function(FunctionName=settings.function_name)["Configuration"]["FunctionArn"].split(":")[4]
    awslambda.add_permission(FunctionName=settings.function_name, StatementId="earlier-api", Action="lambda:InvokeFunction",
                             Principal="apigateway.amazonaws.com",
                             SourceArn=f"arn:aws:execute-api:{settings.region}:{account}:earlier1/*/POST/predict")


@pytest.mark.parametrize("leave, step, loses, says", [
    (leave_an_extra_policy, 5, {"its role trusts only Lambda and may only write logs"},
     ("AmazonS3ReadOnlyAccess", "detach_role_policy", "notebook 08")),
    (leave_a_permission_for_an_earlier_api, 6, {"only this API may invoke the function",
                                                    "a rerun of ensure_api() replaces a stale permission, restores the "
                                                    "stage and creates nothing twice"},
     ("earlier1", "'earlier-api'", "remove_permission", "notebook 08")),
], ids=["an extra policy on the role", "a permission for an earlier API"])
def test_state_left_in_the_cloud_is_named_with_how_to_clear_it(cloud, tmp_path, leave, step, loses, says):
    # given the reference deployed, and state an earlier run left in the cloud
    settings = settings_for(cloud, "lab_solution", tmp_path / "build", f"iris-left-{step}")
    deploy(settings, mutation.SOLUTION)
    try:
        leave(settings)
        # when
        report = run_steps([step], Context(settings), isolation="process")
        # then the checks it breaks say that an earlier run left it, what is left and how to clear it, in both languages
        failed = [r for r in report.results if not r.passed]
        assert {r.name for r in failed} == loses, report.summary("en")
        for result in failed:
            assert all(s in result.message for s in (*says, "earlier run")), result.message
            assert all(s in result.shown("bn")["message"] for s in (*says, "আগের কোনো run")), result.shown("bn")
    finally:
        clean_up(settings)
