"""Configuration, read once from the environment (prefix SCENESTATE_) and passed in.

With nothing set, everything runs embedded: a SQLite file under the data
directory and the in-process bus. `Settings` is the one settings object of every
command (`serve`, `run`, `worker`, `demo` and the rest); its `http` part is what
only the HTTP API reads (SCENESTATE_ADMIN_KEY, SCENESTATE_API_*, SCENESTATE_WEBHOOK_*).
Every number and duration goes through one parser, `_number`, which names the
variable and what it must be.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ScenestateError

# What adapters/providers/hosted reads: keys, base URLs, prices and the fallback order
# (tests/api/test_config.py holds the two lists equal).
HOSTED_KEYS = frozenset({"REPLICATE_API_TOKEN", "FAL_KEY", "ELEVENLABS_API_KEY"})
HOSTED_PREFIXES = ("SCENESTATE_REPLICATE_", "SCENESTATE_FAL_", "SCENESTATE_ELEVENLABS_")
HOSTED_ORDER = "SCENESTATE_HOSTED_ORDER"


def is_hosted_variable(name: str) -> bool:
    return name in HOSTED_KEYS or name == HOSTED_ORDER or name.startswith(HOSTED_PREFIXES)


# PostgreSQL connections a process may hold in all, and the fewest it can work with
# (one per pool; adapters.store.budget, whose numbers tests/api/test_config.py checks).
DEFAULT_POOL_SIZE = 20
MINIMUM_POOL_SIZE = 6

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ConfigError(ScenestateError, ValueError):
    """A SCENESTATE_ variable that cannot be understood; the message names it."""


@dataclass(frozen=True)
class ProviderLimits:
    concurrency: int
    per_second: float = 0.0


@dataclass(frozen=True)
class BusSettings:
    """How tasks travel: JetStream names start with `prefix`; a delivery not
    settled within `ack_wait` seconds goes to another worker, at most
    `max_deliver` times; message ids are remembered `duplicate_window` seconds;
    a running task tells the bus it is alive every `heartbeat` seconds."""

    prefix: str = "scenestate"
    ack_wait: float = 30.0
    max_deliver: int = 5
    duplicate_window: float = 120.0
    heartbeat: float = 5.0

    def options(self, jetstream: bool) -> dict[str, object]:
        """Keyword options for `adapters.bus.open_bus`."""
        common: dict[str, object] = {
            "ack_wait": self.ack_wait,
            "max_deliver": self.max_deliver,
            "duplicate_window": self.duplicate_window,
        }
        return {**common, "prefix": self.prefix} if jetstream else common


@dataclass(frozen=True)
class HttpSettings:
    """What the HTTP API adds: the admin key, body limits, stream heartbeats and the
    webhooks' retry schedule."""

    admin_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 256 * 1024 * 1024
    body_timeout: float = 60.0
    heartbeat: float = 15.0
    admin_rate: float = 100.0
    stream_queue_limit: int = 10_000
    webhook_backoff: float = 1.0
    webhook_max_attempts: int = 8
    webhook_poll: float = 1.0
    webhook_allow_private: bool = False
    cors_origins: tuple[str, ...] = ()  # web front ends on other origins that may call


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    nats_url: str | None
    # PostgreSQL connections this process may hold in all (adapters.store.budget)
    database_pool_size: int = DEFAULT_POOL_SIZE
    snapshot_every: int = 200
    idempotency_ttl: float = 86_400.0  # seconds an idempotency key is remembered
    demo_format: str = "1920x1080@24"  # the demo film's size and frame rate
    provider_limits: dict[str, ProviderLimits] = field(default_factory=dict)
    bus: BusSettings = field(default_factory=BusSettings)
    artifact_store: str = "filesystem"  # or "nats": a JetStream Object Store bucket
    # hosted providers' keys, URLs, prices and order; never shown
    hosted: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    http: HttpSettings = field(default_factory=HttpSettings)

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


DATABASE_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+asyncpg")


def _check_database_url(url: str) -> None:
    """A URL of a database the stores open, or a ConfigError naming the variable."""
    scheme, found, rest = url.partition("://")
    if not found or scheme not in DATABASE_SCHEMES or not rest:
        shown = f"{scheme}://…@{rest.rsplit('@', 1)[1]}" if "@" in rest else url  # no password
        raise ConfigError(
            f"SCENESTATE_DATABASE_URL: {shown!r} is not a database URL the stores open; "
            "expected postgresql+asyncpg://USER@HOST:PORT/DATABASE or "
            "sqlite+aiosqlite:///PATH (unset: SQLite in SCENESTATE_DATA_DIR)"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("SCENESTATE_DATA_DIR", ".scenestate")).expanduser()
    database_url = env.get("SCENESTATE_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{(data_dir / 'scenestate.db').resolve()}"
    )
    _check_database_url(database_url)
    snapshot_every = int(_number(env, "SCENESTATE_SNAPSHOT_EVERY", 200, minimum=0, whole=True))
    pool_size = _number(
        env,
        "SCENESTATE_DATABASE_POOL_SIZE",
        DEFAULT_POOL_SIZE,
        minimum=MINIMUM_POOL_SIZE,
        whole=True,
        unit="connections",
    )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        nats_url=env.get("SCENESTATE_NATS_URL") or None,
        database_pool_size=int(pool_size),
        snapshot_every=snapshot_every,
        demo_format=env.get("SCENESTATE_DEMO_FORMAT", "1920x1080@24"),
        idempotency_ttl=_number(
            env, "SCENESTATE_IDEMPOTENCY_TTL", 86_400.0, minimum=1.0, unit="seconds"
        ),
        provider_limits=parse_provider_limits(env.get("SCENESTATE_PROVIDER_LIMITS", "")),
        bus=load_bus_settings(env),
        artifact_store=_artifact_store(env),
        hosted={k: v for k, v in env.items() if is_hosted_variable(k)},
        http=load_http_settings(env),
    )


def load_http_settings(env: Mapping[str, str]) -> HttpSettings:
    admin = env.get("SCENESTATE_ADMIN_KEY") or None
    if admin is not None and len(admin) < 16:
        raise ConfigError("SCENESTATE_ADMIN_KEY must be at least 16 characters")
    kib = 1024
    return HttpSettings(
        admin_key=admin,
        max_body_bytes=int(
            _number(env, "SCENESTATE_API_MAX_BODY_BYTES", kib * kib, minimum=kib, whole=True)
        ),
        max_upload_bytes=int(
            _number(
                env, "SCENESTATE_API_MAX_UPLOAD_BYTES", 256 * kib * kib, minimum=kib, whole=True
            )
        ),
        body_timeout=_number(env, "SCENESTATE_API_BODY_TIMEOUT", 60.0, minimum=0.1, unit="seconds"),
        heartbeat=_number(env, "SCENESTATE_API_HEARTBEAT", 15.0, minimum=0.05, unit="seconds"),
        webhook_backoff=_number(
            env, "SCENESTATE_WEBHOOK_BACKOFF", 1.0, minimum=0.01, unit="seconds"
        ),
        webhook_max_attempts=int(
            _number(env, "SCENESTATE_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, whole=True)
        ),
        webhook_allow_private=_flag(env, "SCENESTATE_WEBHOOK_ALLOW_PRIVATE"),
        cors_origins=_origins(env, "SCENESTATE_CORS_ORIGINS"),
    )


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """`https://studio.example,http://localhost:5173`: scheme, host and port, nothing
    more (an origin is not a URL with a path); `*` is refused, since browsers send
    credentials along."""
    found = tuple(part.strip().rstrip("/") for part in env.get(name, "").split(",") if part.strip())
    for origin in found:
        if not _ORIGIN.match(origin):
            raise ConfigError(
                f"{name}: {origin!r} is not an origin such as https://studio.example:8443"
            )
    return found


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}={env[name]!r}: use 1 or 0")


def _artifact_store(env: Mapping[str, str]) -> str:
    kind = env.get("SCENESTATE_ARTIFACTS", "filesystem")
    if kind not in ("filesystem", "nats"):
        raise ConfigError(f"SCENESTATE_ARTIFACTS={kind!r}: use 'filesystem' or 'nats'")
    if kind == "nats" and not env.get("SCENESTATE_NATS_URL"):
        raise ConfigError("SCENESTATE_ARTIFACTS=nats needs SCENESTATE_NATS_URL")
    return kind


def load_bus_settings(env: Mapping[str, str]) -> BusSettings:
    prefix = env.get("SCENESTATE_BUS_PREFIX", "scenestate")
    if not _NAME.match(prefix):
        raise ConfigError(
            f"SCENESTATE_BUS_PREFIX={prefix!r}: use letters, digits, '-' and '_' only "
            "(it names JetStream streams and subjects)"
        )
    ack_wait = _number(env, "SCENESTATE_ACK_WAIT", 30.0, minimum=1.0, unit="seconds")
    heartbeat = _number(
        env, "SCENESTATE_HEARTBEAT", min(5.0, ack_wait / 3), minimum=0.1, unit="seconds"
    )
    if heartbeat >= ack_wait:
        raise ConfigError(
            f"SCENESTATE_HEARTBEAT={heartbeat:g} must be shorter than SCENESTATE_ACK_WAIT="
            f"{ack_wait:g}, or running tasks are handed to a second worker"
        )
    max_deliver = int(_number(env, "SCENESTATE_MAX_DELIVER", 5, minimum=1, whole=True))
    window = _number(env, "SCENESTATE_DUPLICATE_WINDOW", 120.0, minimum=1.0, unit="seconds")
    return BusSettings(prefix, ack_wait, max_deliver, window, heartbeat)


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float,
    whole: bool = False,
    unit: str = "",
) -> float:
    """The variable `name` as a finite number of at least `minimum` (a whole number
    when `whole`), or `default` when it is not set."""
    text = env.get(name)
    if text is None:
        return default
    what = "a whole number" if whole else f"a number of {unit}" if unit else "a number"
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not {what}") from None
    if not minimum <= value < float("inf"):
        raise ConfigError(f"{name}={text!r} must be at least {minimum:g} {unit}".rstrip())
    return value


def parse_provider_limits(text: str) -> dict[str, ProviderLimits]:
    """`replicate=2/1.5,local=4`: at most 2 calls at once and 1.5 a second to
    replicate, 4 at once to local (SCENESTATE_PROVIDER_LIMITS)."""
    limits: dict[str, ProviderLimits] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, spec = item.partition("=")
        concurrency, _, rate = spec.partition("/")
        try:
            limit = ProviderLimits(int(concurrency), float(rate) if rate else 0.0)
        except ValueError:
            limit = ProviderLimits(0)
        if not name or limit.concurrency < 1 or limit.per_second < 0:
            raise ConfigError(
                f"SCENESTATE_PROVIDER_LIMITS: {item!r} is not PROVIDER=CONCURRENCY[/PER_SECOND]"
            )
        limits[name] = limit
    return limits
