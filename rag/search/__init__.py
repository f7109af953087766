"""Search: hybrid retrieval (dense + BM25, fused) with the hints a question carries (sources, dates)."""
