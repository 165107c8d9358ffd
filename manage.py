#!/usr/bin/env python
"""Convenience wrapper: same as `python -m guanxi`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from guanxi.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main()
