"""Command-line tools around the gateway: the call simulator and the deployment smoke test."""
