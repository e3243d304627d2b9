"""`python -m s2sad`: the command line (s2sad/cli/main.py)."""
import sys

from .cli.main import main

sys.exit(main())
