"""Eval: scoring the pipeline against a test set (metrics, the `rag eval` run, the judged scores)."""
