"""The business's knowledge as the gateway keeps it: versions in its database (seeded from
KNOWLEDGE_FILE), edited in the console, and sent to the agent with every call and chat."""
