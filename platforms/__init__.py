"""One package per platform: its client, error translation, payload -> Mention, replies, limits, handles.

A platform's package root (`platforms/<name>/__init__.py`) holds what every layer may know about it and
imports no SDK; only its `client.py` imports the SDK. The registry names every platform Hark knows.
"""
