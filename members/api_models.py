"""Per-project API keys (models live here; members/models.py imports them)."""
