"""Messages the agent took for the business: stored once, listed and marked handled (`/api/messages`, the
console), and sent to the owner over WhatsApp when OWNER_WHATSAPP is set."""
