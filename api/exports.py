"""Audit export formats (the engine's, re-exported for the API and the CLI)."""

from engine import EXPORT_COLUMNS, cell, neutralise, read_csv, read_jsonl, restore, write_csv

__all__ = ["EXPORT_COLUMNS", "cell", "neutralise", "read_csv", "read_jsonl", "restore", "write_csv"]
