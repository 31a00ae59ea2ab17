"""localcloud/README.md stays true to the code: every setting and command it names exists, and no setting is undocumented."""

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
