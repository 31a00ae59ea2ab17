"""Step 0: is this machine ready for the lab? One row per prerequisite, with advice.

    python -m labkit.doctor

Each row's item and detail are written in both languages (:func:`labkit.bilingual.say`);
:func:`lines` and the command show them in the student's (``LAB_LANG``).
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import dataclass
from importlib import metadata

from . import aws, config, dockercli, localtarget
from .bilingual import say, text
from .config import Settings
from .errors import LabError, run_cli

PACKAGES = ("scikit-learn", "joblib", "boto3", "requests", "moto", "jupyterlab")


@dataclass(frozen=True)
class Row:
    item: str  # English; a Said carries its Bengali
    ok: bool
    detail: str  # English; a Said carries its Bengali


def pinned_versions() -> dict[str, str]:
    """Package pins from the repository's requirements.txt."""
    text = (config.REPO_ROOT / "requirements.txt").read_text()
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)", text, re.M)}


def check_environment(settings: Settings) -> list[Row]:
    """Everything the lab needs, checked without changing anything."""
    python = platform.python_version()
    rows = [Row("Python", sys.version_info[:2] == (3, 11),
                say(f"{python} (the Lambda runtime is 3.11)", f"{python} (Lambda runtime 3.11)"))]
    pins = pinned_versions()
    for name in PACKAGES:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            rows.append(Row(name, False, say("not installed; run `make venv`", "install করা নেই; `make venv` চালাও")))
            continue
        wanted = pins.get(name.lower())
        rows.append(Row(name, wanted in (None, installed), installed if wanted in (None, installed) else
                        say(f"{installed}, requirements.txt pins {wanted}", f"{installed}, requirements.txt চায় {wanted}")))
    engine = dockercli.engine_version()
    rows.append(Row("Docker engine", True, f"{engine} (docker mode)" if engine else
                    say("none: the image steps will stage code for host mode instead of building an image",
                        "নেই: image-এর ধাপগুলো image build না করে host mode-এর জন্য code stage করবে")))
    where = f"{settings.target} ({settings.endpoint_url or 'AWS ' + settings.region})"
    rows.append(Row("Target", True, where))
    rows.append(_target_row(settings))
    rows.append(Row(say("Code graded and run", "grade হওয়া code"), True, settings.code))
    return rows


def _target_row(settings: Settings) -> Row:
    if settings.target == "local":
        healthy = localtarget.healthy(settings)
        return Row("Local AWS stand-in", healthy, say("running", "চলছে") if healthy else
                   say(f"not running at {settings.endpoint_url}; start it with `make cloud-up`",
                       f"{settings.endpoint_url}-এ চলছে না; `make cloud-up` দিয়ে চালু করো"))
    try:
        with aws.explained(settings, say("asking AWS who you are", "AWS-কে জিজ্ঞেস করা, তুমি কে")):
            identity = aws.client(settings, "sts").get_caller_identity()
    except LabError as error:
        return Row("AWS credentials", False, error.said)
    return Row("AWS credentials", True, identity["Arn"])


def lines(rows: list[Row], lang: str | None = None) -> str:
    """The rows as the notebook shows them, ``ok`` or ``!!`` first, in ``lang`` (default: ``LAB_LANG``)."""
    lang = lang or config.language()
    return "\n".join(f"{'ok' if row.ok else '!!'}  {text(row.item, lang):<22} {text(row.detail, lang)}" for row in rows)


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    settings = config.load()
    rows = check_environment(settings)
    title = text(say("Serverless AI lab: environment", "Serverless AI lab: তোমার machine"), settings.lang)
    table = Table("", *(text(say(en, bn), settings.lang) for en, bn in (("item", "কী"), ("detail", "বিস্তারিত"))),
                  title=title)
    for row in rows:
        table.add_row("[green]ok[/green]" if row.ok else "[red]!![/red]", text(row.item, settings.lang),
                      text(row.detail, settings.lang))
    Console().print(table)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    run_cli(main)
