"""Classifiers: language, relevance, sentiment, intent, needs-reply and priority for mentions."""
