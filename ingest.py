#!/usr/bin/env python
"""Ingest articles: `python ingest.py PATH... [--sync]` (same as `rag ingest`; see --help)."""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
