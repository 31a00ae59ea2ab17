"""localcloud/README.md stays true to the code: every setting, command and module it names exists, and no setting or
module is left out."""

from __future__ import annotations

import re
from pathlib import Path

from localcloud import __main__ as cli
from localcloud import settings

README = (Path(settings.__file__).parent / "README.md").read_text()
SETTINGS_SOURCE = Path(settings.__file__).read_text()


def test_every_setting_is_documented_and_every_documented_one_exists():
    in_code = set(re.findall(r'"(LOCALCLOUD_[A-Z_]+)"', SETTINGS_SOURCE))
    in_readme = set(re.findall(r"`(LOCALCLOUD_[A-Z_]+)`", README))
    assert in_code == in_readme


def test_documented_commands_exist():
    commands = set(cli.parser()._subparsers._group_actions[0].choices)
    documented = set(re.findall(r"python -m localcloud (\w+)", README))
    assert documented <= commands and {"up", "down", "status", "logs"} <= documented


def modules_table() -> dict[str, set[str]]:
    """The README's table of modules: package folder -> the files its row names."""
    rows = {}
    for line in README[README.index("## Modules"):].splitlines():
        if line.startswith("| `"):
            package, job = line.split("|")[1:3]
            named = re.findall(r"`([\w/.]+)`", package)
            folder = named[0] if named[0].endswith("/") else ""
            rows[folder] = rows.get(folder, set()) | {name for name in named if name.endswith(".py")} | set(
                re.findall(r"`(\w+\.py)`", job))
    return rows


def test_the_modules_table_names_every_module_and_only_modules_that_exist():
    package = Path(settings.__file__).parent
    listed = {(folder + name) for folder, names in modules_table().items() for name in names}
    on_disk = {path.relative_to(package).as_posix() for path in package.rglob("*.py") if path.name != "__init__.py"}
    assert listed == on_disk
