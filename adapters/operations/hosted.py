"""Generation on hosted providers as worker operations: one per (provider, operation) that
a configured provider offers, and ("hosted", operation), which falls back across the
providers of the task's model in order."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping, Sequence

import httpx

from adapters.operations.surfaces import CHECKED, CheckedText
from adapters.providers.hosted.catalogue import Offer, offer_for, offered_models, operations_of
from adapters.providers.hosted.elevenlabs import ElevenLabsProvider
from adapters.providers.hosted.fal import FalProvider
from adapters.providers.hosted.fallback import FallbackOperation
from adapters.providers.hosted.keys import PROVIDERS, ProviderSettings, provider_settings
from adapters.providers.hosted.media import data_uri, media_type_of
from adapters.providers.hosted.polling import PollSchedule, settle
from adapters.providers.hosted.replicate import ReplicateProvider
from adapters.providers.hosted.vocabulary import (
    HostedProvider,
    HostedRequest,
    Job,
    JobResult,
    JobStatus,
)
from engine.errors import TaskFailure
from engine.ports import Operation, TaskContext, TaskOutput
from engine.tasks import ErrorKind, TaskMessage, TaskStatus

log = logging.getLogger("scenestate.providers.hosted")

FALLBACK = "hosted"  # the provider name of the operations that fall back across providers
ORDER_VARIABLE = "SCENESTATE_HOSTED_ORDER"  # e.g. "fal,replicate": the order to try them
INLINE_LIMIT = 256 * 1024  # bytes of input sent inline as a data: URI; larger is uploaded


class HostedGeneration:
    """Runs a task on one provider: its parameters become the model's input, the job is
    polled until it settles, and the media it made becomes the task's output. If the
    task is cancelled while the job runs, the job is cancelled at the provider too."""

    def __init__(
        self,
        provider: HostedProvider,
        operation: str,
        *,
        schedule: PollSchedule | None = None,
        usd_per_unit: float = 0.0,
        cancel_timeout: float = 5.0,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.schedule = schedule or PollSchedule()
        self.usd_per_unit = usd_per_unit
        self.cancel_timeout = cancel_timeout
        self._cancels: set[asyncio.Task[None]] = set()

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        offer = self._offer(task)
        images = {name: await self._reference(context, name) for name in offer.inputs}
        build = offer.build(task.operation, task.params, images)
        # a cancellation that lands while submit is in flight leaves no job id to
        # cancel; Replicate's `Cancel-After` deadline bounds such orphans
        job = await self.provider.submit(HostedRequest(offer.provider_model, build))
        log.info("task %s: %r submitted", task.task_id, job)
        try:
            job, status = await settle(self.provider, job, self.schedule, context.heartbeat)
        except BaseException:
            await self._abandon(job)
            raise
        if status.state != TaskStatus.SUCCEEDED:
            raise _failure(offer, job, status)
        return self._output(offer, job, status, await self.provider.result(job))

    def _output(self, offer: Offer, job: Job, status: JobStatus, result: JobResult) -> TaskOutput:
        if not result.media_type.startswith(f"{offer.media}/"):
            made = f"{offer.provider} {offer.provider_model} made {result.media_type}"
            raise TaskFailure(ErrorKind.INTERNAL, f"{made}, not {offer.media}")
        outputs = {
            "provider": offer.provider,
            "model": offer.model,
            "provider_model": offer.provider_model,
            "job": job.id,
            "usage": dict(status.usage),
        }
        cost = status.usage.get(self.provider.billed_by, 0.0) * self.usd_per_unit
        return TaskOutput(result.data, result.media_type, outputs=outputs, cost=cost)

    async def _reference(self, context: TaskContext, name: str) -> str:
        """An input as the provider reads it: a data: URI when small, else uploaded to
        its file storage (a large data: URI bloats every request and some APIs refuse
        it)."""
        data = await context.input(name)
        media_type = media_type_of(data, None, "")
        if len(data) <= INLINE_LIMIT:
            return data_uri(data, media_type)
        return await self.provider.upload(data, media_type)

    def _offer(self, task: TaskMessage) -> Offer:
        offer = offer_for(self.provider.name, self.operation, task.model)
        if offer is None:
            known = ", ".join(offered_models(self.provider.name, self.operation))
            message = f"{self.provider.name} offers no model {task.model!r} for {self.operation}"
            raise TaskFailure(ErrorKind.INVALID_INPUT, f"{message} (it offers: {known})")
        return offer

    async def _abandon(self, job: Job) -> None:
        """Cancel the remote job so it stops costing money: shielded from a second
        cancellation of ours, bounded in time, and never raising."""
        cancel = asyncio.ensure_future(
            asyncio.wait_for(self.provider.cancel(job), self.cancel_timeout)
        )
        self._cancels.add(cancel)
        cancel.add_done_callback(self._cancels.discard)
        try:
            await asyncio.shield(cancel)
        except asyncio.CancelledError:
            log.info("%r: cancelled again while cancelling it; the cancel carries on", job)
        except Exception as exc:  # a failed cancel must not hide why we cancelled
            log.warning("%r: could not cancel it at %s: %s", job, self.provider.name, exc)
        else:
            log.info("%r: cancelled at %s", job, self.provider.name)


def _failure(offer: Offer, job: Job, status: JobStatus) -> TaskFailure:
    said = f"{offer.provider} {offer.provider_model} ended {status.provider_status} (job {job.id})"
    message = f"{said}: {status.message}" if status.message else said
    return TaskFailure(status.error_kind or ErrorKind.INTERNAL, message)


def hosted_providers(
    env: Mapping[str, str], *, order: Sequence[str] | None = None
) -> dict[str, HostedProvider]:
    """A provider for every key set in `env`, in the order to try them (the caller
    closes them with `aclose` when it shuts down)."""
    settings = provider_settings(env)
    tls = httpx.create_ssl_context()
    names = [name for name in order or _order(env) if name in settings]
    return {name: _provider(settings[name], tls) for name in names}


def _provider(settings: ProviderSettings, tls: ssl.SSLContext) -> HostedProvider:
    if settings.name == "replicate":
        return ReplicateProvider(settings, tls=tls)
    if settings.name == "fal":
        return FalProvider(settings, tls=tls)
    return ElevenLabsProvider(settings, tls=tls)


def _order(env: Mapping[str, str]) -> list[str]:
    raw = env.get(ORDER_VARIABLE, "").strip()
    if not raw:
        return list(PROVIDERS)
    named = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in named if name not in PROVIDERS]
    if unknown:
        raise ValueError(f"{ORDER_VARIABLE} names unknown providers {unknown}; known: {PROVIDERS}")
    return named + [name for name in PROVIDERS if name not in named]


def hosted_operations(
    env: Mapping[str, str],
    *,
    providers: Mapping[str, HostedProvider] | None = None,
    schedule: PollSchedule | None = None,
) -> dict[tuple[str, str], Operation]:
    """Operations keyed by (provider, operation) for every provider with a key in `env`,
    plus ("hosted", operation) falling back across them in `SCENESTATE_HOSTED_ORDER`."""
    if providers is None:
        providers = hosted_providers(env)
    prices = {name: s.usd_per_unit for name, s in provider_settings(env).items()}
    operations: dict[tuple[str, str], Operation] = {}
    candidates: dict[str, list[tuple[str, Operation]]] = {}
    for name in [n for n in _order(env) if n in providers]:
        for operation in operations_of(name):
            generation = HostedGeneration(
                providers[name], operation, schedule=schedule, usd_per_unit=prices.get(name, 0.0)
            )
            operations[(name, operation)] = generation
            candidates.setdefault(operation, []).append((name, generation))
    for operation, offered in candidates.items():
        operations[(FALLBACK, operation)] = FallbackOperation(
            operation, offered, _offers(operation)
        )
    return {
        (provider, operation): CheckedText(operation, run) if operation in CHECKED else run
        for (provider, operation), run in operations.items()
    }


def _offers(operation: str) -> Callable[[str, str], bool]:
    def offers(provider: str, model: str) -> bool:
        return offer_for(provider, operation, model) is not None

    return offers
