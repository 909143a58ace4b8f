"""Victim-facing pages and provider webhooks (one ASGI app)."""
