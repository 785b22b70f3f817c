"""Fixtures: bitcoin_core (filled in by the work that needs it)."""
