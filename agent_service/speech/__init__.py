"""The agent's ears and voice: VAD, speech-to-text and text-to-speech behind small interfaces, by name."""
