"""Dead letters on JetStream: one max-deliveries advisory in, one FAILED/LOST result out.

The advisory names the task by its sequence in the tasks stream, where nats-server
keeps a message that ran out of deliveries until someone deletes it. Each step is
safe to repeat, so an advisory that comes back (its burial was cut short) does no
harm: the result's message id makes a second publish a duplicate, and a task
already deleted means another bus finished the burial.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from adapters.bus._dead_letter import lost_result
from engine.tasks import TaskMessage, TaskResult

log = logging.getLogger(__name__)


async def bury(
    js: JetStreamContext,
    tasks_stream: str,
    advisory: Msg,
    publish_result: Callable[[TaskResult], Awaitable[None]],
    ack_timeout: float,
) -> None:
    """Publish the lost result of the task `advisory` names, delete the task, ack."""
    try:
        notice = json.loads(advisory.data)
        sequence, deliveries = int(notice["stream_seq"]), int(notice["deliveries"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("terminated an advisory that does not parse: %r", exc)
        await advisory.term()
        return
    try:
        stored = await js.get_msg(tasks_stream, seq=sequence)
    except NotFoundError:
        stored = None  # another bus buried it already
    if stored is not None and stored.data is not None:
        try:
            task = msgspec.json.decode(stored.data, type=TaskMessage)
        except msgspec.DecodeError as exc:
            log.error("task at sequence %d does not decode, dropped: %s", sequence, exc)
        else:
            await publish_result(lost_result(task, deliveries))
        with contextlib.suppress(NotFoundError):
            await js.delete_msg(tasks_stream, sequence)
    await advisory.ack_sync(timeout=ack_timeout)
