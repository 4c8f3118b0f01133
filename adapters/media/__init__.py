"""Media operations on PyAV (and Pillow for text): probe, conform, trim and pad, join,
overlay, mix, burn captions, stills and the preview and production encodes.

Each module does one kind of work on files; `adapters.operations.media` runs them as
tasks. `probe_media` is the one function other adapters call directly.
"""

from adapters.media.probe import MediaInfo, probe_media

__all__ = ["MediaInfo", "probe_media"]
