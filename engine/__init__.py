"""The pure core of scenestate: intents, events, scene state, reducers, decisions and ports.

Nothing here imports a database, network or media library; adapters implement
the ports in `engine.ports` and `api` wires them together.
"""
