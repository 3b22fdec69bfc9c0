"""A phone call once its Media Stream is open: the endpoint, the call modes, the registry, the cap."""
