"""The lab end to end, as a student runs it: notebooks executed against a private stand-in.

* Rerunning the deploy notebooks (04-06) creates nothing twice; running cleanup (08) twice is safe.
* Without a Docker engine (host mode) every step still runs, and every check that can run passes.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from checks import Context, run_steps
from labkit import aws, config
from localcloud import process

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("run_lab", ROOT / "scripts" / "run_lab.py")
run_lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_lab)


def run_notebooks(numbers: list[str], out: Path) -> None:
    for number in numbers:
        notebook = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
        failure = run_lab.execute(notebook, out / f"{len(list(out.glob('*')))}-{notebook.name}")
        assert failure is None, f"{notebook.name} failed at {failure}"


def lab_environment(monkeypatch, cloud, build: Path, **extra) -> config.Settings:
    """Point the notebooks' kernels (which inherit this environment) at the private stand-in."""
    variables = {"LAB_TARGET": "local", "LAB_CODE": "lab_solution", "LAB_ENDPOINT_URL": cloud.endpoint,
                 "LAB_BUILD_DIR": str(build), **extra}
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    return config.load()


def inventory(settings: config.Settings) -> dict[str, int]:
    """How many of each lab resource the cloud holds."""
    apigw, awslambda = aws.client(settings, "apigatewayv2"), aws.client(settings, "lambda")
    apis = [a for a in apigw.get_apis()["Items"] if a["Name"] == settings.api_name]
    policy = json.loads(awslambda.get_policy(FunctionName=settings.function_name)["Policy"])
    return {
        "repositories": len(aws.client(settings, "ecr").describe_repositories()["repositories"]),
        "images": len(aws.client(settings, "ecr").describe_images(repositoryName=settings.repository)["imageDetails"]),
        "roles": len([r for r in aws.client(settings, "iam").list_roles()["Roles"] if r["RoleName"] == settings.role_name]),
        "functions": len(awslambda.list_functions()["Functions"]),
        "log groups": len(aws.client(settings, "logs").describe_log_groups()["logGroups"]),
        "apis": len(apis),
        "routes": len(apigw.get_routes(ApiId=apis[0]["ApiId"])["Items"]),
        "integrations": len(apigw.get_integrations(ApiId=apis[0]["ApiId"])["Items"]),
        "stages": len(apigw.get_stages(ApiId=apis[0]["ApiId"])["Items"]),
        "permissions": len(policy["Statement"]),
    }


@pytest.mark.docker
def test_deploy_notebooks_twice_create_nothing_twice(monkeypatch, tmp_path, lambda_base):
    with process.running(mode="docker") as cloud:
        settings = lab_environment(monkeypatch, cloud, tmp_path / "build")
        # given the lab deployed once
        run_notebooks(["01", "03", "04", "05", "06"], tmp_path / "executed")
        once = inventory(settings)
        # when the deploy notebooks run again
        run_notebooks(["04", "05", "06"], tmp_path / "executed")
        # then nothing exists twice
        assert inventory(settings) == once
        assert set(once.values()) == {1}, once
        # and cleanup, twice, leaves nothing
        run_notebooks(["08", "08"], tmp_path / "executed")
        assert run_steps([8], Context(settings)).passed


def test_the_whole_lab_runs_in_host_mode_without_docker(monkeypatch, tmp_path):
    with process.running(mode="host") as cloud:
        settings = lab_environment(monkeypatch, cloud, tmp_path / "build", LAB_DOCKER="off")
        numbers = [f"{n:02d}" for n in range(1, 8)]
        for number in numbers:
            run_notebooks([number], tmp_path / "executed")
        # then every step passes, with only the image-inspecting checks skipped
        report = run_steps(range(1, 8), Context(settings))
        assert report.passed, report.summary()
        assert [r.name for r in report.results if r.skipped] == [
            "the submission's Dockerfile builds",
            "the image holds app.py, labkit/, model.joblib and the scikit-learn that trained it, and runs app.handler",
            "the image fits the size budget",
            "under the Runtime Interface Emulator the image answers right and refuses bad input",
        ]
        # and the provisioned-concurrency experiment of notebook 07 removed what it added
        awslambda, name = aws.client(settings, "lambda"), settings.function_name
        assert awslambda.list_aliases(FunctionName=name)["Aliases"] == []
        assert [v["Version"] for v in awslambda.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST"]
        assert awslambda.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []
        run_notebooks(["08"], tmp_path / "executed")
        assert run_steps([8], Context(settings)).passed
