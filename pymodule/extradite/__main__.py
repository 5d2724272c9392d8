"""`python -m extradite`: see extradite/_cli.py."""

import sys

from ._cli import main

sys.exit(main())
