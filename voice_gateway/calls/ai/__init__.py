"""WS_MODE=AI: each call bridged to the agent service over one gRPC stream, and its audio paced out."""
