"""The AWS Lambda Runtime Interface Emulator (RIE), fetched once and cached.

The official ``aws-lambda-rie`` binaries ship inside the aws-sam-cli wheel
(``samcli/local/rapid/aws-lambda-rie-<arch>``). We download that wheel with pip,
the ordinary package client, and extract the one file we need; SAM CLI itself is
never installed.

    python -m lambda_rie [--arch x86_64|arm64]   # prints the cached binary's path
"""

from __future__ import annotations

import argparse
import platform
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SAM_CLI_VERSION = "1.170.0"
ARCHITECTURES = ("x86_64", "arm64")
DEFAULT_CACHE = Path.home() / ".cache" / "serverless-iris" / "rie"


class RieUnavailable(RuntimeError):
    """The emulator could not be downloaded (no package index, unknown architecture)."""


def host_arch() -> str:
    """Lambda's name for this machine's architecture (``x86_64`` or ``arm64``)."""
    machine = platform.machine().lower()
    return "arm64" if machine in ("arm64", "aarch64") else "x86_64"


def ensure_rie(arch: str | None = None, cache_dir: Path | None = None) -> Path:
    """Return the path of the RIE binary for ``arch``, downloading it on first use.

    Args:
        arch: ``x86_64`` or ``arm64``; defaults to this machine's architecture.
        cache_dir: where the binary is kept between runs (default: :data:`DEFAULT_CACHE`).

    Returns:
        The path of an executable ``aws-lambda-rie-<arch>``.
    """
    arch = arch or host_arch()
    cache_dir = cache_dir or DEFAULT_CACHE
    if arch not in ARCHITECTURES:
        raise RieUnavailable(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}")
    target = cache_dir / f"aws-lambda-rie-{arch}-{SAM_CLI_VERSION}"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             f"aws-sam-cli=={SAM_CLI_VERSION}", "--dest", tmp],
            capture_output=True, text=True,
        )
        wheels = list(Path(tmp).glob("aws_sam_cli-*.whl"))
        if download.returncode != 0 or not wheels:
            raise RieUnavailable(
                f"could not download aws-sam-cli=={SAM_CLI_VERSION} to extract the RIE: "
                f"{download.stderr.strip().splitlines()[-1] if download.stderr.strip() else 'no wheel'}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            partial = target.with_suffix(".partial")
            partial.write_bytes(wheel.read(f"samcli/local/rapid/aws-lambda-rie-{arch}"))
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lambda_rie", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=ARCHITECTURES, default=None)
    args = parser.parse_args(argv)
    try:
        print(ensure_rie(args.arch))
    except RieUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0

