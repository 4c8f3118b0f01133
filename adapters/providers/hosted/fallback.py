"""One operation over several providers of the same model: try them in order, and move on
to the next only when one fails transiently (down, timed out, rate limited). A refusal
of the input or the content would be the same anywhere, so it ends the task at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import msgspec

from adapters.providers.hosted._failures import TRANSIENT
from engine.errors import TaskFailure
from engine.ports import Operation, TaskContext, TaskOutput
from engine.tasks import ErrorKind, TaskMessage

log = logging.getLogger("scenestate.providers.hosted")


class FallbackOperation:
    """`candidates` are (provider name, operation) in the order to try them; `offers`
    says whether a provider offers a model, so each task only goes where it can run."""

    def __init__(
        self,
        operation: str,
        candidates: Sequence[tuple[str, Operation]],
        offers: Callable[[str, str], bool],
    ) -> None:
        self.operation = operation
        self.candidates = list(candidates)
        self.offers = offers

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        chosen = [(name, op) for name, op in self.candidates if self.offers(name, task.model)]
        if not chosen:
            tried = ", ".join(name for name, _ in self.candidates) or "none configured"
            message = f"no hosted provider offers {task.model!r} for {self.operation} ({tried})"
            raise TaskFailure(ErrorKind.INVALID_INPUT, message)
        failures: list[tuple[str, TaskFailure]] = []
        for name, operation in chosen:
            try:
                output = await operation.run(task, context)
            except TaskFailure as failure:
                if ErrorKind(failure.kind) not in TRANSIENT:
                    raise
                log.warning("task %s: %s failed (%s); trying the next", task.task_id, name, failure)
                failures.append((name, failure))
                continue
            return _noting(output, failures)
        raise _exhausted(task.model, failures)


def _noting(output: TaskOutput, failures: list[tuple[str, TaskFailure]]) -> TaskOutput:
    if not failures:
        return output
    skipped = [
        {"provider": name, "kind": str(f.kind), "message": f.message} for name, f in failures
    ]
    return msgspec.structs.replace(output, outputs={**output.outputs, "fallback_from": skipped})


def _exhausted(model: str, failures: list[tuple[str, TaskFailure]]) -> TaskFailure:
    """Every provider failed transiently: retry the task later, as soon as the first
    of them said it could take work again."""
    said = "; ".join(f"{name}: {failure.message}" for name, failure in failures)
    waits = [f.retry_after for _, f in failures if f.retry_after is not None]
    kind = failures[-1][1].kind
    return TaskFailure(kind, f"every provider of {model} failed: {said}", min(waits, default=None))
