"""WhatsApp through a Baileys sidecar or Twilio: one interface, one message model, nothing lost."""
