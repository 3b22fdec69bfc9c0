"""Alembic's script directory for the gateway's database: env.py, the frozen baseline, and versions/.

Run by `voice_gateway.storage.migrate`, which hands env.py the connection; nothing here reads the
environment or an alembic.ini.
"""
