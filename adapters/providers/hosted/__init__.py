"""Hosted generation providers behind one interface, and what they share.

    HostedProvider            submit / status / result / cancel, one status vocabulary:
    │                         queued, running, succeeded, failed, canceled
    ├── ReplicateProvider     predictions; `Prefer: wait`; starting/processing/.../aborted
    ├── FalProvider           queue; IN_QUEUE (queue_position) / IN_PROGRESS / COMPLETED
    └── ElevenLabsProvider    text-to-speech; the audio comes back with the answer

`catalogue` says which provider runs which model and how task parameters become its
input (`text_prompts` the instructions for language models writing copy and pages),
`polling` waits for a job to settle, `fallback` moves a task to the next
provider of its model when one fails transiently, `webhooks` checks signatures, and
`keys` reads keys from the environment and keeps them out of every message.
`adapters.operations.hosted` turns all of it into worker operations.
"""

from adapters.providers.hosted.elevenlabs import ElevenLabsProvider
from adapters.providers.hosted.fal import FalProvider
from adapters.providers.hosted.fallback import FallbackOperation
from adapters.providers.hosted.keys import ApiKey, ProviderSettings, provider_settings
from adapters.providers.hosted.polling import PollSchedule, settle
from adapters.providers.hosted.replicate import ReplicateProvider
from adapters.providers.hosted.vocabulary import (
    HostedProvider,
    HostedRequest,
    Job,
    JobResult,
    JobStatus,
)
from adapters.providers.hosted.webhooks import (
    WebhookRejected,
    verify_hmac_sha256,
    verify_replicate_webhook,
)

__all__ = [
    "ApiKey",
    "ElevenLabsProvider",
    "FalProvider",
    "FallbackOperation",
    "HostedProvider",
    "HostedRequest",
    "Job",
    "JobResult",
    "JobStatus",
    "PollSchedule",
    "ProviderSettings",
    "ReplicateProvider",
    "WebhookRejected",
    "provider_settings",
    "settle",
    "verify_hmac_sha256",
    "verify_replicate_webhook",
]
