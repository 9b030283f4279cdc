"""A real HTTP and websocket proxy in front of a Prefect API that answers chosen requests with an error of its own,
the way a Prefect server under a race (409), a restart (connection reset) or a proxy outage (502) would."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
import websockets

# (method, path, how many of these requests came before) -> a status to answer with instead, or None to forward.
Rule = Callable[[str, str, int], int | None]


class PrefectProxy:
    def __init__(self, upstream_api: str, rule: Rule) -> None:
        self.upstream = upstream_api.rstrip("/")  # http://127.0.0.1:N/api
        self.rule = rule
        self.seen: collections.Counter[tuple[str, str]] = collections.Counter()
        self.answered: list[tuple[str, str, int]] = []
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"].removeprefix("/api")
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, path)
            return
        method = scope["method"]
        key = (method, path)
        earlier = self.seen[key]
        self.seen[key] += 1
        status = self.rule(method, path, earlier)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if status is not None:
            self.answered.append((method, path, status))
            await send(
                {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": b'{"detail": "refused by the test proxy"}'})
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60)
        query = scope["query_string"].decode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")]
        upstream = await self._client.request(
            method, f"{self.upstream}{path}" + (f"?{query}" if query else ""), content=body, headers=headers
        )
        await send(
            {
                "type": "http.response.start",
                "status": upstream.status_code,
                "headers": [
                    (k, v)
                    for k, v in upstream.headers.raw
                    if k.lower() not in (b"content-length", b"transfer-encoding", b"content-encoding")
                ],
            }
        )
        await send({"type": "http.response.body", "body": upstream.content})

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any, path: str) -> None:
        """Prefect's events go over a websocket: pass them through both ways."""
        target = self.upstream.replace("http", "ws", 1) + path
        await receive()  # websocket.connect
        async with websockets.connect(target) as upstream:
            await send({"type": "websocket.accept"})

            async def down() -> None:
                async for message in upstream:
                    key = "text" if isinstance(message, str) else "bytes"
                    await send({"type": "websocket.send", key: message})

            pump = asyncio.create_task(down())
            try:
                while (message := await receive())["type"] == "websocket.receive":
                    await upstream.send(message.get("text") or message.get("bytes") or b"")
            finally:
                pump.cancel()


@contextmanager
def prefect_proxy(upstream_api: str, rule: Rule) -> Iterator[tuple[PrefectProxy, str]]:
    """The proxy on a free loopback port, served by a real uvicorn in a thread; yields it and its API URL."""
    from notifications.mail.sink import free_port

    proxy = PrefectProxy(upstream_api, rule)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(proxy, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield proxy, f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(10)
