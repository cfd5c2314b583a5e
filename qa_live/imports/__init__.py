"""Importing past sessions (a bureau's earlier years) from a JSON file (docs/imports.md)."""
