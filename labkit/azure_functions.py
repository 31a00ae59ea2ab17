"""Azure Functions: the folder the Functions host runs, staged from ``azure/`` and the lab's code.

    python -m labkit.azure_functions      # stage build/azure, then: cd build/azure && func start

The lab does not run the Functions host; Azure Functions Core Tools (``func``) does, locally,
and ``func azure functionapp publish NAME`` deploys the same folder to a Function App.
"""

from __future__ import annotations

from pathlib import Path

from . import config, images
from .bilingual import say, text
from .config import Settings
from .errors import run_cli

AZURE_DIR = config.REPO_ROOT / "azure"


def stage(settings: Settings, code_dir: Path) -> Path:
    """``build/azure``: function_app.py, host.json, local.settings.json, the requirements, ``code_dir``'s app.py,
    the given serving code and the model."""
    model = images.trained_model(settings)
    files = {name: AZURE_DIR / name for name in ("function_app.py", "host.json", "local.settings.json", "requirements.txt")}
    return images.fill_context(settings.build_dir / "azure", {
        **files, **images.SERVING_FILES, "requirements-model.txt": images.CONTEXT_FILES["requirements.txt"],
        "app.py": code_dir / "app.py", "model.joblib": model})


def main() -> int:
    settings = config.load()
    folder = stage(settings, config.code_dir(settings))
    print(text(say(f"staged {folder}; run it with Azure Functions Core Tools: cd {folder} && func start "
                   "(then POST http://localhost:7071/api/predict)",
                   f"{folder}-এ stage করা হলো; Azure Functions Core Tools দিয়ে চালাও: cd {folder} && func start "
                   "(তারপর POST http://localhost:7071/api/predict)"), settings.lang))
    return 0


if __name__ == "__main__":
    run_cli(main)
