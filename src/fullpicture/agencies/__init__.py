"""Agencies around a child and the practitioners who work in them."""
