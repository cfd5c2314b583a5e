"""Pieces every area shares: time handling, column types, errors, access helpers."""
