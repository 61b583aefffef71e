"""Benchmarks of the main paths, each next to a baseline measured in the same run (`make bench`)."""
