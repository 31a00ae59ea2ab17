"""Running notebooks in a Jupyter kernel of this very Python, as ``make lab`` and the tests do."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm import tqdm

KERNEL = "this-interpreter"


class _ThisInterpreter(KernelSpecManager):
    """Resolves our kernel name to an ipykernel running in this very Python (as nbval does)."""

    def get_kernel_spec(self, kernel_name):
        if kernel_name == KERNEL:
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())
        return super().get_kernel_spec(kernel_name)


@contextlib.contextmanager
def kernel(nb: nbformat.NotebookNode, cwd: Path, env: Mapping[str, str] | None = None,
           timeout: float = 1200) -> Iterator[NotebookClient]:
    """A started kernel for ``nb``, working in ``cwd`` with ``env`` added to this process's environment.

    Run cells with ``client.execute_cell(cell, index)``; the kernel is shut down on exit.
    """
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=_ThisInterpreter())
    client = NotebookClient(nb, km=manager, timeout=timeout, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    # The kernel's own chatter goes nowhere; what cells print is kept in their outputs.
    try:
        with client.setup_kernel(stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}):
            yield client
    finally:  # nbclient shuts down only a kernel manager of its own making
        if manager.has_kernel:
            manager.shutdown_kernel()


def execute(notebook: Path, destination: Path, env: Mapping[str, str] | None = None) -> str | None:
    """Execute ``notebook`` cell by cell with a progress bar, write the executed copy to ``destination``.

    Returns:
        None when every cell ran, else ``"cell N: <the error's last line>"`` (the copy then ends there).
    """
    nb = nbformat.read(notebook, as_version=4)
    failure = None
    with kernel(nb, notebook.parent, env=env) as client:
        for index, cell in enumerate(tqdm(nb.cells, desc=notebook.stem, unit="cell", leave=False)):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                last_line = re.sub(r"\x1b\[[0-9;]*m", "", str(error).strip().splitlines()[-1])  # no colour codes
                failure = f"cell {index}: {last_line}"
                break
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination)
    return failure
