"""rag: answer questions about a collection of news articles, with cited passages.

One subpackage per pipeline stage, bottom to top (imports only flow upwards, tests/test_layers.py):
text -> models -> store -> ingest | search -> answer -> chat -> pipeline -> eval | llamaindex -> web -> cli,
with errors and config under all of them.
"""
