"""Helpers shared by the project-level tests (importable as `support`)."""
