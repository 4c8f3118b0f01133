"""Random numbers that depend only on what a model was asked, so the same request
always makes the same bytes."""

from __future__ import annotations

import hashlib

import numpy as np


def fingerprint(*parts: object) -> bytes:
    """A sha256 of the parts, unambiguous however they are split."""
    digest = hashlib.sha256()
    for part in parts:
        encoded = part if isinstance(part, bytes) else repr(part).encode()
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.digest()


def generator_for(*parts: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(int.from_bytes(fingerprint(*parts)[:16], "big")))
