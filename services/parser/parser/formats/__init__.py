"""Deterministic parsers for billing files, tried before any AI: the known provider exports by
their exact columns, then a generic table reader that recognizes columns by header names."""
