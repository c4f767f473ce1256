"""Listeners: poll X and Reddit (or a replay file) for brand mentions."""
