"""The agent's appointments as the gateway presents them: a read-only iCalendar feed at a secret URL and
the console's Bookings page. The agent owns the calendar; this package only calls its RPCs."""
