"""What a check gets to look at: the lab settings and where the code being graded lives.

The grader never imports the graded code: :meth:`Context.submission_files` lists the files
the sandbox copies, read-only, for the child to import.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from labkit import config
from labkit.config import Settings
from labkit.errors import LabError

__all__ = ["Context", "LabError", "REPO_ROOT", "SETOSA", "config"]

REPO_ROOT = config.REPO_ROOT
SETOSA = config.SETOSA
# What a submission may hold besides its Python modules: its image's recipe.
IMAGE_FILES = ("Dockerfile", ".dockerignore", "requirements.txt", "docker/Dockerfile", "docker/requirements.txt")


@dataclass(frozen=True)
class Context:
    """The settings of the run; ``settings.code`` names the code under test."""

    settings: Settings

    @property
    def folder(self) -> Path:
        """The folder of the code under test (``exercises/``, ``lab_solution/`` or a submission)."""
        code = self.settings.code
        return (REPO_ROOT / code if code in config.CODE_PACKAGES else Path(code)).resolve()

    def source(self, name: str) -> Path:
        """A file of the code under test (``app.py``, ``Dockerfile``, ...)."""
        return self.folder / name

    def reach(self) -> int | None:
        """The one port of the host's loopback a networked sandbox child needs: the local stand-in's edge (a class's
        private one among others); None for a cloud target (the child needs the network at large)."""
        if self.settings.target != "local" or not self.settings.endpoint_url:
            return None
        address = urlsplit(self.settings.endpoint_url)
        return address.port if address.hostname in ("127.0.0.1", "localhost") and address.port else None

    def submission_files(self) -> dict[str, Path]:
        """The submission's modules and image files, as the sandbox copies them."""
        files = {path.name: path for path in sorted(self.folder.glob("*.py"))}
        files |= {name: self.folder / name for name in IMAGE_FILES if (self.folder / name).is_file()}
        return files

    def child_environment(self) -> dict[str, str]:
        """The lab settings as the environment a child reads them from (``config.load()``).

        The code is named by its folder: the child cannot import the packages ``exercises`` and ``lab_solution``.
        """
        return replace(self.settings, code=str(self.folder)).environment()

    def client(self, service: str):
        """A boto3 client for the run's target (the local stand-in or AWS), for the grader's own queries."""
        from labkit import aws

        return aws.client(self.settings, service)
