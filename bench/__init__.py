"""Benchmark scripts; run each from the project root as a module, e.g. `python -m bench.multihop`."""
