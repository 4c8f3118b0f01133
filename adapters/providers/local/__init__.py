"""Offline providers that make real media, deterministic from their prompt and seed:
pictures, pan-and-zoom clips, speech and ambience.

Like real models they do not quite do as asked: clips come back a little short or
long, at their own frame rate and size, so the normalisation downstream is
exercised for real.
"""
