"""rag: answer questions about a collection of news articles, with cited passages.

Pipeline stages, one module each:
loading -> chunking -> embedding -> store -> (ingest) -> retrieval -> answering/citations -> chat,
plus evaluation/metrics, config and cli.
"""
