"""Synthetic populations: realistic agency feeds with known truth, for tests, benchmarks and the demo."""
