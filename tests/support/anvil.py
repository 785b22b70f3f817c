"""Fixtures: anvil (filled in by the work that needs it)."""
