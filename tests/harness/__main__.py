"""`python -m tests.harness`: see tests/harness/cli.py."""

import sys

from tests.harness.cli import main

sys.exit(main())
