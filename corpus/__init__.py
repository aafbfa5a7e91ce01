"""Corpus: the storage contract (schemas, workspace, atomic writer, DuckDB views) and the corpus build."""
