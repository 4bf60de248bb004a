"""Benchmarks (not tests): they print tables of ratios."""
