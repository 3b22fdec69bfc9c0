"""The gateway's own listener: Media Streams upgrades on `websockets`, everything else to Hypercorn."""
