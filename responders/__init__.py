"""Responders: route classified mentions to the Slack queue, the console, or a templated reply."""
