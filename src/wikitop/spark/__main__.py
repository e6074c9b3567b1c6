"""`python -m wikitop.spark START END [--master URL]`, and the file that spark-submit runs: `wikitop spark`."""

from __future__ import annotations

import sys

from wikitop.cli import main

if __name__ == "__main__":
    main(["spark", *sys.argv[1:]], prog_name="wikitop")
