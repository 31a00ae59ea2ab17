"""The AWS Lambda Runtime Interface Emulator (RIE): fetched once, and run one way, on free loopback ports.

The lab (step 3's local run), the grader (step 3's check under the RIE), the local stand-in (every
Lambda execution environment) and the tests all run handlers under the RIE. This package belongs to
none of them and imports none of them, so each can use it without crossing a seam: ``localcloud``
never imports ``labkit`` or ``checks``, and ``labkit`` never imports ``localcloud``.

- :mod:`lambda_rie.fetch`: the official binary, extracted once from the aws-sam-cli wheel and cached
- :mod:`lambda_rie.run`: the RIE's command lines (docker mode, host mode), one invoke, and
  :func:`~lambda_rie.run.running`, which starts an image or a code folder under it for a ``with`` block
- :mod:`lambda_rie.ports`: a free loopback port, and whether something listens on one
- :mod:`lambda_rie.waiting`: :func:`~lambda_rie.waiting.wait_for`, the one poll loop of the production code
  (it lives here because this is the one package both sides of the seam may import)

    python -m lambda_rie [--arch x86_64|arm64]   # prints the cached binary's path
"""

from lambda_rie.fetch import ARCHITECTURES, DEFAULT_CACHE, SAM_CLI_VERSION, RieUnavailable, ensure_rie, host_arch
from lambda_rie.ports import free_port, listening
from lambda_rie.waiting import WaitTimeout, wait_for

__all__ = ["ARCHITECTURES", "DEFAULT_CACHE", "SAM_CLI_VERSION", "RieUnavailable", "WaitTimeout", "ensure_rie",
           "free_port", "host_arch", "listening", "wait_for"]
