"""Helpers shared by the test suite and the benchmarks (toy models, crafted hostile files)."""
