"""Test helpers shared by the per-service tests (services/*/tests) and the cross-service tests (tests/).

Only tests import this package: it is on pytest's pythonpath, not in the production distribution, and an
import contract (pyproject.toml) keeps production packages from importing it."""
