"""Implementations of the engine's ports: the event store, the task bus, the artifact
store, the media operations, the generation providers and the worker loop."""
