"""`python -m exporter.docs_gen`: regenerate the docs made from the code (see the package)."""

import sys

from exporter.docs_gen import main

sys.exit(main())
