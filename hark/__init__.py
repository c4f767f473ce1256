"""Hark: shared records, errors, config and pipeline wiring."""
