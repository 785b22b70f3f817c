"""Webhook endpoints, events and deliveries (models live here; links/models.py imports them)."""
