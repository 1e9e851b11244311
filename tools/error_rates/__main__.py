"""`python -m tools.error_rates`: the command line in tools/error_rates/__init__.py."""

import sys

from tools.error_rates import main

sys.exit(main())
