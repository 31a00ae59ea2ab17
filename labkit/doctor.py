"""Step 0: is this machine ready for the lab? One row per prerequisite, with advice.

    python -m labkit.doctor
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import dataclass
from importlib import metadata

from . import aws, config, dockercli, localtarget
from .config import Settings
from .errors import LabError, run_cli

PACKAGES = ("scikit-learn", "joblib", "boto3", "requests", "moto", "jupyterlab")


@dataclass(frozen=True)
class Row:
    item: str
    ok: bool
    detail: str


def pinned_versions() -> dict[str, str]:
    """Package pins from the repository's requirements.txt."""
    text = (config.REPO_ROOT / "requirements.txt").read_text()
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)", text, re.M)}


def check_environment(settings: Settings) -> list[Row]:
    """Everything the lab needs, checked without changing anything."""
    rows = [Row("Python", sys.version_info[:2] == (3, 11), f"{platform.python_version()} (the Lambda runtime is 3.11)")]
    pins = pinned_versions()
    for name in PACKAGES:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            rows.append(Row(name, False, "not installed; run `make venv`"))
            continue
        wanted = pins.get(name.lower())
        rows.append(Row(name, wanted in (None, installed), installed + ("" if wanted in (None, installed) else f", requirements.txt pins {wanted}")))
    engine = dockercli.engine_version()
    rows.append(Row("Docker engine", True, f"{engine} (docker mode)" if engine else
                    "none: the image steps will stage code for host mode instead of building an image"))
    rows.append(Row("Target", True, f"{settings.target} ({settings.endpoint_url or 'AWS ' + settings.region})"))
    rows.append(_target_row(settings))
    rows.append(Row("Code graded and run", True, settings.code))
    return rows


def _target_row(settings: Settings) -> Row:
    if settings.target == "local":
        healthy = localtarget.healthy(settings)
        return Row("Local AWS stand-in", healthy, "running" if healthy else
                   f"not running at {settings.endpoint_url}; start it with `make cloud-up`")
    try:
        with aws.explained(settings, "asking AWS who you are"):
            identity = aws.client(settings, "sts").get_caller_identity()
    except LabError as error:
        return Row("AWS credentials", False, str(error))
    return Row("AWS credentials", True, identity["Arn"])


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    rows = check_environment(config.load())
    table = Table("", "item", "detail", title="Serverless AI lab: environment")
    for row in rows:
        table.add_row("[green]ok[/green]" if row.ok else "[red]!![/red]", row.item, row.detail)
    Console().print(table)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    run_cli(main)
