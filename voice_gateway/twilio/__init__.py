"""Twilio's side of the wire: webhooks, TwiML, request signatures, the REST client, Media Streams."""
