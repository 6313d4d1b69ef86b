"""``python -m recsys ...``: see ``recsys/cli.py``."""
import sys

from .cli import main

sys.exit(main())
