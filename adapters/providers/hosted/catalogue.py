"""Which hosted provider runs which model, under what id, and how a task's parameters
(engine/recipes.py: text_to_image prompt/seed/take/width/height; image_to_video the
`image` input and duration; text_to_speech text/voice) become that model's documented
input; write_copy and write_page (engine/surfaces.py) become a language model's
instruction (text_prompts.py). Model names are the studio's (`flux-schnell`), so any
provider offering a model can run it; a task may also name a provider's own id for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.providers.hosted.text_prompts import (
    COPY_SYSTEM,
    PAGE_SYSTEM,
    copy_instruction,
    page_instruction,
)
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

Params = Mapping[str, Any]
Build = Callable[[str, Params, Mapping[str, str]], dict[str, Any]]

# Replicate's flux-schnell takes an aspect ratio from this list, not a size.
_FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_KLING_SECONDS = (5, 10)
_DEFAULT_VOICE = {"elevenlabs": "21m00Tcm4TlvDq8ikWAM", "fal": "Rachel"}  # a premade voice


@dataclass(frozen=True)
class Offer:
    """One provider's way to run one model for one operation."""

    operation: str
    model: str
    provider: str
    provider_model: str
    build: Build  # (operation, params, input data: URIs by name) -> the API's input
    inputs: tuple[str, ...] = ()  # task inputs the model takes, sent as data: URIs
    media: str = "image"  # what its output must be: image, video, audio or text


def _text(operation: str, params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip():
        raise TaskFailure(ErrorKind.INVALID_INPUT, f"{operation} needs a non-empty {name!r}")
    return value


def _whole(operation: str, params: Params, name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        message = f"{operation} parameter {name!r} must be a non-negative number, not {value!r}"
        raise TaskFailure(ErrorKind.INVALID_INPUT, message)
    return int(value)


def _seed(operation: str, params: Params) -> int:
    """A new take rolls a new seed; the same seed and take always give the same seed."""
    seed, take = _whole(operation, params, "seed", 0), _whole(operation, params, "take", 0)
    return (seed * 1_000_003 + take) % 2**31


def _nearest_ratio(width: int, height: int) -> str:
    def distance(ratio: str) -> float:
        w, h = (int(part) for part in ratio.split(":"))
        return abs(w / h - width / height)

    return min(_FLUX_RATIOS, key=distance)


def _size(operation: str, params: Params) -> tuple[int, int]:
    width = _whole(operation, params, "width", 1024)
    height = _whole(operation, params, "height", 1024)
    if not width or not height:
        raise TaskFailure(ErrorKind.INVALID_INPUT, f"{operation} needs a width and height over 0")
    return width, height


def _clip_seconds(operation: str, params: Params) -> int:
    """Kling makes 5 s or 10 s clips: the shortest that covers the asked duration
    (normalisation trims it afterwards)."""
    duration = params.get("duration", 5.0)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
        message = f"{operation} parameter 'duration' must be seconds over 0, not {duration!r}"
        raise TaskFailure(ErrorKind.INVALID_INPUT, message)
    return next((s for s in _KLING_SECONDS if s >= duration), _KLING_SECONDS[-1])


def _motion_prompt(params: Params) -> str:
    return str(params.get("prompt") or params.get("motion") or "natural motion")


def _image(operation: str, images: Mapping[str, str]) -> str:
    if "image" not in images:
        raise TaskFailure(ErrorKind.INVALID_INPUT, f"{operation} needs an 'image' input")
    return images["image"]


def _voice(provider: str, params: Params) -> str:
    voice = str(params.get("voice") or "default")
    return _DEFAULT_VOICE[provider] if voice == "default" else voice


def replicate_flux(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    return {
        "prompt": _text(operation, params, "prompt"),
        "seed": _seed(operation, params),
        "aspect_ratio": _nearest_ratio(*_size(operation, params)),
        "num_outputs": 1,
        "output_format": "png",
    }


def fal_flux(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    width, height = _size(operation, params)
    return {
        "prompt": _text(operation, params, "prompt"),
        "seed": _seed(operation, params),
        "image_size": {"width": width, "height": height},
        "num_images": 1,
        "output_format": "png",
        "enable_safety_checker": True,
    }


def replicate_kling(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    return {
        "prompt": _motion_prompt(params),
        "start_image": _image(operation, images),
        "duration": _clip_seconds(operation, params),
    }


def fal_kling(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    return {
        "prompt": _motion_prompt(params),
        "image_url": _image(operation, images),
        "duration": str(_clip_seconds(operation, params)),
    }


def elevenlabs_speech(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    return {
        "text": _text(operation, params, "text"),
        "voice_id": _voice("elevenlabs", params),
        "seed": _seed(operation, params),
    }


def fal_speech(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    return {"text": _text(operation, params, "text"), "voice": _voice("fal", params)}


_LLAMA = "meta-llama/llama-3.1-8b-instruct"  # fal any-llm's name for it
_MAX_TOKENS = {"write_copy": 120, "write_page": 4000}


def _instruction(operation: str, params: Params) -> tuple[str, str]:
    if operation == "write_page":
        return PAGE_SYSTEM, page_instruction(params)
    return COPY_SYSTEM, copy_instruction(params)


def replicate_llama(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    system, prompt = _instruction(operation, params)
    return {
        "prompt": prompt,
        "system_prompt": system,
        "max_tokens": _MAX_TOKENS.get(operation, 512),
        "temperature": 0.7,
        "seed": _seed(operation, params),
    }


def fal_any_llm(operation: str, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    system, prompt = _instruction(operation, params)
    return {"model": _LLAMA, "prompt": prompt, "system_prompt": system}


def _text_offers() -> tuple[Offer, ...]:
    return tuple(
        offer
        for operation in ("write_copy", "write_page")
        for offer in (
            Offer(
                operation,
                "llama-3-8b-instruct",
                "replicate",
                "meta/meta-llama-3-8b-instruct",
                replicate_llama,
                media="text",
            ),
            Offer(
                operation, "llama-3-8b-instruct", "fal", "fal-ai/any-llm", fal_any_llm, media="text"
            ),
        )
    )


OFFERS: tuple[Offer, ...] = (
    *_text_offers(),
    Offer(
        "text_to_image",
        "flux-schnell",
        "replicate",
        "black-forest-labs/flux-schnell",
        replicate_flux,
    ),
    Offer("text_to_image", "flux-schnell", "fal", "fal-ai/flux/schnell", fal_flux),
    Offer(
        "image_to_video",
        "kling-1.6-standard",
        "replicate",
        "kwaivgi/kling-v1.6-standard",
        replicate_kling,
        ("image",),
        "video",
    ),
    Offer(
        "image_to_video",
        "kling-1.6-standard",
        "fal",
        "fal-ai/kling-video/v1.6/standard/image-to-video",
        fal_kling,
        ("image",),
        "video",
    ),
    Offer(
        "text_to_speech",
        "eleven-multilingual-v2",
        "elevenlabs",
        "eleven_multilingual_v2",
        elevenlabs_speech,
        media="audio",
    ),
    Offer(
        "text_to_speech",
        "eleven-multilingual-v2",
        "fal",
        "fal-ai/elevenlabs/tts/multilingual-v2",
        fal_speech,
        media="audio",
    ),
)


def offer_for(provider: str, operation: str, model: str) -> Offer | None:
    """The offer of `provider` for `model` (the studio's name or the provider's id)."""
    for offer in OFFERS:
        if (offer.provider, offer.operation) == (provider, operation) and model in (
            offer.model,
            offer.provider_model,
        ):
            return offer
    return None


def offered_models(provider: str, operation: str) -> list[str]:
    return [o.model for o in OFFERS if (o.provider, o.operation) == (provider, operation)]


def operations_of(provider: str) -> list[str]:
    return sorted({o.operation for o in OFFERS if o.provider == provider})
