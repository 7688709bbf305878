"""Blueprints, one per page family."""
