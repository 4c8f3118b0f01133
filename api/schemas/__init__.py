"""Pydantic schemas of the HTTP API, one module per resource: what a client sends
(`...Create`) and what it gets back (`...Public`), kept apart from the engine's
msgspec structs so the wire format can stay put while the engine changes."""
