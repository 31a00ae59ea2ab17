"""What a check gets to look at: the lab settings and the code being graded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from labkit import config
from labkit.config import Settings

REPO_ROOT = config.REPO_ROOT


@dataclass(frozen=True)
class Context:
    """The settings of the run; ``settings.code`` names the code under test."""

    settings: Settings

    def code(self, module: str) -> ModuleType:
        """Import one of the graded modules (``train``, ``app``, ...)."""
        return config.import_code(self.settings, module)

    def source(self, module: str) -> Path:
        """The path of a graded module's source file."""
        return config.code_path(self.settings, module)

    def client(self, service: str):
        """A boto3 client for the run's target (the local stand-in or AWS)."""
        from labkit import aws

        return aws.client(self.settings, service)
