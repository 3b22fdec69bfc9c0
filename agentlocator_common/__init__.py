"""What the gateway and the agent service both need and neither owns: log set-up, telephone audio.

Both services import this package; they never import each other, so each can be packaged and deployed
alone. Keep it small: anything here must be true on both sides of the gRPC contract.
"""
