"""ElevenLabs text-to-speech through its adapter and the operation, against a loopback
server that answers with the audio itself, as ElevenLabs does."""

from __future__ import annotations

import io
import wave

import pytest

from adapters.operations.hosted import HostedGeneration
from adapters.providers.hosted.elevenlabs import ElevenLabsProvider, output_media_type
from adapters.providers.hosted.keys import provider_settings
from adapters.providers.hosted.vocabulary import HostedProvider, HostedRequest
from engine.errors import TaskFailure
from engine.ports import Operation
from engine.tasks import ErrorKind, TaskMessage, TaskStatus

from . import samples
from .conftest import ELEVENLABS_KEY, FAST, FakeContext, make_task
from .fake_elevenlabs import RACHEL, FakeElevenLabs

Operations = dict[tuple[str, str], Operation]


def speech_task(**params: object) -> TaskMessage:
    defaults: dict[str, object] = {"text": "Welcome to the harbour.", "voice": "default"}
    return make_task(
        "text_to_speech", "eleven-multilingual-v2", "elevenlabs", **{**defaults, **params}
    )


async def test_submit_comes_back_succeeded_with_the_audio(
    providers: dict[str, HostedProvider], elevenlabs: FakeElevenLabs
) -> None:
    provider = providers["elevenlabs"]
    request = HostedRequest("eleven_multilingual_v2", {"text": "Hello there", "voice_id": RACHEL})

    job = await provider.submit(request)

    status = await provider.status(job)
    assert (status.state, status.usage) == (TaskStatus.SUCCEEDED, {"characters": 11.0})
    result = await provider.result(job)
    assert (result.data, result.media_type) == (samples.mp3(), "audio/mpeg")
    [spoken] = elevenlabs.spoken
    assert spoken["voice"] == RACHEL
    assert spoken["query"] == {"output_format": "mp3_44100_128"}
    assert spoken["body"]["model_id"] == "eleven_multilingual_v2"
    assert spoken["headers"]["xi-api-key"] == ELEVENLABS_KEY
    await provider.cancel(job)  # nothing runs remotely: nothing to do, nothing sent
    assert len(elevenlabs.spoken) == 1


async def test_text_to_speech_operation_speaks_in_the_default_voice(
    operations: Operations, elevenlabs: FakeElevenLabs
) -> None:
    context = FakeContext()

    output = await operations[("elevenlabs", "text_to_speech")].run(speech_task(), context)

    assert (output.data, output.media_type) == (samples.mp3(), "audio/mpeg")
    assert output.outputs["provider"] == "elevenlabs"
    assert output.outputs["usage"] == {"characters": 23.0}
    assert elevenlabs.spoken[0]["body"]["text"] == "Welcome to the harbour."
    assert context.heartbeats == 0  # nothing to wait for


async def test_a_price_per_character_becomes_the_cost(
    env: dict[str, str], elevenlabs: FakeElevenLabs
) -> None:
    settings = provider_settings({**env, "SCENESTATE_ELEVENLABS_USD_PER_CHARACTER": "0.0003"})
    provider = ElevenLabsProvider(settings["elevenlabs"])
    try:
        operation = HostedGeneration(provider, "text_to_speech", usd_per_unit=0.0003)
        output = await operation.run(speech_task(text="ten chars!"), FakeContext())
    finally:
        await provider.aclose()
    assert output.cost == pytest.approx(10 * 0.0003)


async def test_pcm_output_is_wrapped_in_wav_at_its_sample_rate(
    env: dict[str, str], elevenlabs: FakeElevenLabs
) -> None:
    provider = ElevenLabsProvider(provider_settings(env)["elevenlabs"], output_format="pcm_16000")
    try:
        output = await HostedGeneration(provider, "text_to_speech", schedule=FAST).run(
            speech_task(), FakeContext()
        )
    finally:
        await provider.aclose()
    assert output.media_type == "audio/wav"
    with wave.open(io.BytesIO(output.data or b"")) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnframes()) == (16000, 2, 8000)


async def test_a_refused_key_is_invalid_input_naming_the_variable(
    env: dict[str, str], elevenlabs: FakeElevenLabs
) -> None:
    provider = ElevenLabsProvider(
        provider_settings({**env, "ELEVENLABS_API_KEY": "sk_wrong"})["elevenlabs"]
    )
    try:
        with pytest.raises(TaskFailure) as caught:
            await HostedGeneration(provider, "text_to_speech").run(speech_task(), FakeContext())
    finally:
        await provider.aclose()
    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "refused the API key from ELEVENLABS_API_KEY" in caught.value.message
    assert "invalid_api_key: Invalid API key" in caught.value.message
    assert "sk_wrong" not in caught.value.message


async def test_an_exhausted_quota_says_so(
    operations: Operations, elevenlabs: FakeElevenLabs
) -> None:
    elevenlabs.plan.quota_exceeded = True

    with pytest.raises(TaskFailure) as caught:
        await operations[("elevenlabs", "text_to_speech")].run(speech_task(), FakeContext())

    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "quota_exceeded" in caught.value.message


async def test_an_unknown_voice_is_invalid_input_with_elevenlabs_detail(
    operations: Operations, elevenlabs: FakeElevenLabs
) -> None:
    with pytest.raises(TaskFailure) as caught:
        await operations[("elevenlabs", "text_to_speech")].run(
            speech_task(voice="nobody"), FakeContext()
        )

    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "voice_not_found" in caught.value.message and "nobody" in caught.value.message


async def test_too_many_concurrent_requests_is_rate_limited_with_retry_after(
    operations: Operations, elevenlabs: FakeElevenLabs
) -> None:
    elevenlabs.plan.busy = 1

    with pytest.raises(TaskFailure) as caught:
        await operations[("elevenlabs", "text_to_speech")].run(speech_task(), FakeContext())

    assert (caught.value.kind, caught.value.retry_after) == (ErrorKind.RATE_LIMITED, 3.0)


async def test_empty_text_is_refused_before_any_call(
    operations: Operations, elevenlabs: FakeElevenLabs
) -> None:
    with pytest.raises(TaskFailure) as caught:
        await operations[("elevenlabs", "text_to_speech")].run(
            speech_task(text="  "), FakeContext()
        )

    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "'text'" in caught.value.message
    assert elevenlabs.spoken == []


def test_output_formats_without_a_container_are_refused_up_front() -> None:
    assert output_media_type("mp3_22050_32") == "audio/mpeg"
    assert output_media_type("pcm_24000") == "audio/wav"
    with pytest.raises(ValueError, match="ulaw_8000"):
        output_media_type("ulaw_8000")
