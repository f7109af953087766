"""Ingest: files and web sources -> articles -> sentence-aware chunks -> the store, incrementally."""
