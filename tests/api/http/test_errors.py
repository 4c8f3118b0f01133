"""A backend that fails mid-request (a dropped connection, a deadlock, a full pool)
is the server's trouble, not the client's: 503 with Retry-After in the one error
body, never a 500."""

from __future__ import annotations

import asyncpg
import httpx
import nats.errors
import pytest
from fastapi import FastAPI

from api.errors import install_error_handlers


def _failing_app(failure: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise failure

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
