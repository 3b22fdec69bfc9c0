"""Conversation pipelines: what the agent does with a call's audio and a chat's text, chosen by name."""
