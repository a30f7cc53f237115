"""Benchmarks for the nanogate gateway: added latency, throughput and first byte.

Run them with ``./scripts/bench`` (or ``./scripts/bench --quick``); the method and the
latest results are in ``docs/benchmarks.md``.
"""
