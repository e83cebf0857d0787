#!/usr/bin/env python
"""Kept for old commands: the attribution benchmarks are suites of ``benchmarks/run.py`` now.

    python benchmarks/attribution.py [options]             = python benchmarks/run.py attribution [options]
    python benchmarks/attribution.py --accuracy [options]  = python benchmarks/run.py attribution-accuracy [options]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run

if __name__ == "__main__":
    sys.exit(run.main(["attribution", *sys.argv[1:]]))
