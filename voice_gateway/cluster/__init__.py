"""Several gateways, one state: what they share through PostgreSQL when DATABASE_URL names one.

With SQLite a gateway is alone, and keeps its calls, lines, sessions and rate limits in its own memory
(the in-process classes elsewhere). With PostgreSQL, `SharedState` (state.py) gives the same parts a
shared form: lines that count every gateway's calls (lines.py), a heartbeat that makes a dead gateway's
calls expire, the live feeds and hang-up requests carried by LISTEN/NOTIFY (bus.py, feeds.py), and the
rate limits' buckets (rates.py). `services.py` picks one or the other by the URL.
"""
