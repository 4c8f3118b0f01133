"""Retry policies per task operation: how long to wait before the next try, and when
to give up. Transient errors (timeouts, 429, 5xx, a lost worker) are retried with
backoff; permanent ones (invalid input, refused content) fail at once."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from engine.tasks import ErrorKind


class RetryPolicy(msgspec.Struct, frozen=True):
    initial_interval: float = 1.0
    backoff: float = 2.0
    max_interval: float = 60.0
    max_attempts: int = 5
    never_retry: frozenset[ErrorKind] = frozenset(
        {ErrorKind.INVALID_INPUT, ErrorKind.CONTENT_REFUSED}
    )

    def delay(self, tries: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before try number `tries + 1`, or None to give up.
        A provider's own `retry_after` wins when it asks for longer."""
        if tries >= self.max_attempts:
            return None
        backoff = self.initial_interval * self.backoff ** max(tries - 1, 0)
        wait = min(backoff, self.max_interval)
        return max(wait, retry_after or 0.0)

    def next_delay(
        self, tries: int, kind: ErrorKind, retry_after: float | None = None
    ) -> float | None:
        if kind in self.never_retry:
            return None
        return self.delay(tries, retry_after)


DEFAULT_POLICY = RetryPolicy()

# Heavy renders are worth fewer, slower retries; quick model calls retry sooner.
POLICIES: Mapping[str, RetryPolicy] = {
    "text_to_image": RetryPolicy(initial_interval=0.5, max_attempts=5),
    "text_to_speech": RetryPolicy(initial_interval=0.5, max_attempts=5),
    "image_to_video": RetryPolicy(initial_interval=2.0, max_attempts=4),
    "encode": RetryPolicy(initial_interval=5.0, max_attempts=3, max_interval=120.0),
    # A line or a page that failed its checks is tried again at once, as another take;
    # the fifth failure is reported with its reasons before the bus's default
    # max_deliver (5) would turn it into a lost task.
    "write_copy": RetryPolicy(initial_interval=0.05, backoff=1.5, max_attempts=5),
    "write_page": RetryPolicy(initial_interval=0.05, backoff=1.5, max_attempts=5),
}


def policy_for(operation: str, overrides: Mapping[str, RetryPolicy] | None = None) -> RetryPolicy:
    if overrides and operation in overrides:
        return overrides[operation]
    return POLICIES.get(operation, DEFAULT_POLICY)
