#!/usr/bin/env python
"""Web chat over the ingested articles: `python app.py` serves http://127.0.0.1:7860.

Configuration comes from environment variables and `.env` (see README); flags:
`python app.py --help`.
"""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
