"""Media bytes in and out of hosted APIs: data: URIs for the inputs we send, and the
media type of what comes back (recognised from the bytes, else as declared, else as
the URL's extension suggests)."""

from __future__ import annotations

import base64
import binascii
import io
import mimetypes
import urllib.parse
import wave

OCTET_STREAM = "application/octet-stream"

# (offset, signature, media type); RIFF and ISO-BMFF files are told apart further on
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (8, b"WAVE", "audio/wav"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (4, b"ftypqt", "video/quicktime"),
    (4, b"ftyp", "video/mp4"),
)


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves announce, if they are a format we know."""
    for offset, signature, media_type in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return media_type
    # an MPEG audio frame with no ID3 tag starts with 11 set sync bits
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    return None


def media_type_of(data: bytes, declared: str | None, url: str) -> str:
    found = sniff(data)
    if found:
        return found
    declared = (declared or "").split(";")[0].strip().lower()
    if declared and declared not in (OCTET_STREAM, "binary/octet-stream"):
        return declared
    guessed, _ = mimetypes.guess_type(urllib.parse.urlsplit(url).path)
    return guessed or OCTET_STREAM


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """The bytes and declared media type of a `data:` URI; ValueError when it is not one."""
    if not uri.startswith("data:") or "," not in uri:
        raise ValueError("not a data: URI")
    header, _, payload = uri[5:].partition(",")
    parts = header.split(";")
    media_type = parts[0] or "text/plain"
    if "base64" in parts[1:]:
        try:
            return base64.b64decode(payload, validate=True), media_type
        except binascii.Error as exc:
            raise ValueError(f"the data: URI's base64 does not decode: {exc}") from None
    return urllib.parse.unquote_to_bytes(payload), media_type


def wav_from_pcm(pcm: bytes, sample_rate: int, channels: int = 1) -> bytes:
    """Raw signed 16-bit little-endian PCM, wrapped in a WAV header so media tools read it."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return out.getvalue()
