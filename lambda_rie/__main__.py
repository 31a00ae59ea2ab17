"""``python -m lambda_rie [--arch x86_64|arm64]``: print the cached RIE binary's path, fetching it on first use."""

import sys

from lambda_rie.fetch import main

sys.exit(main())
