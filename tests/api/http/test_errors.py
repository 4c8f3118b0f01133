"""A backend that fails mid-request (a dropped connection, a deadlock, a full pool)
is the server's trouble, not the client's: the adapters turn their drivers' errors
into the core's `Unavailable`, and the API answers it with 503 and Retry-After in the
one error body, never a 500."""

from __future__ import annotations

import asyncpg
import httpx
import nats.errors
import pytest
from fastapi import FastAPI

from adapters.bus._errors import translates_bus_failures
from adapters.store._failures import translates_failures
from api.errors import install_error_handlers
from engine.errors import Unavailable


class _Driver:
    """Stands for a driver call deep inside an adapter."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    async def call(self) -> None:
        raise self.failure


@translates_failures()
class _Store(_Driver):
    pass


@translates_bus_failures
class _Bus(_Driver):
    pass


def _failing_app(failure: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    adapter = _Bus(failure) if isinstance(failure, nats.errors.Error) else _Store(failure)

    @app.get("/fails")
    async def fails() -> None:
        await adapter.call()

    @app.get("/breaks")
    async def breaks() -> None:
        raise RuntimeError("a bug")

    return app


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionRefusedError(111, "Connection refused"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
        nats.errors.ConnectionClosedError(),
    ],
)
async def test_a_failing_backend_answers_503_with_retry_after(failure: Exception) -> None:
    transport = httpx.ASGITransport(app=_failing_app(failure), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        answer = await http.get("/fails")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        error = answer.json()["error"]
        assert error["code"] == "unavailable" and error["retry_after"] == 1
        assert "retry" in error["message"]
        # a bug in our own code stays a 500, so that it is seen
        assert (await http.get("/breaks")).status_code == 500


@pytest.mark.parametrize(
    "failure",
    [
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
async def test_the_store_adapters_raise_unavailable_naming_the_database(
    failure: Exception,
) -> None:
    with pytest.raises(Unavailable, match="the database could not answer") as raised:
        await _Store(failure).call()
    assert raised.value.__cause__ is failure
