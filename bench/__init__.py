"""Benchmarks that print figures; each runs from the repository root as `.venv/bin/python -m bench.<name>`."""
