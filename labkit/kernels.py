"""Running notebooks in a Jupyter kernel of this very Python, as ``make lab`` and the kernel tests do."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

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
    with client.setup_kernel(stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}):
        yield client
