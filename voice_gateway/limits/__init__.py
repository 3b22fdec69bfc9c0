"""Abuse limits for HTTP: token buckets (sans-IO) and the guard that applies them to requests."""
