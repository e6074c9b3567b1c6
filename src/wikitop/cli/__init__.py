"""The `wikitop` command: thin commands that parse input, call the pipeline or a service, and format output.

`main.py` holds the group; `batch.py` and `service.py` add their commands to it when imported here.
"""

from wikitop.cli import batch, service  # noqa: F401  (registers their commands on main)
from wikitop.cli.main import main

__all__ = ["main"]
