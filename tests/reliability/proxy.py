"""A tiny TCP proxy on loopback between the web workers and PostgreSQL, for cutting connections.

Two faults: ``sever_all()`` drops every connection at once, and ``arm_commit_cut(n)`` drops the
next ``n`` connections right after they send COMMIT: the COMMIT reaches the server (which commits),
the client never hears back. That is the ambiguous outcome a client must resolve by its
Idempotency-Key. Runs its own asyncio loop in a daemon thread; stops with ``close()``.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time


class CutProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._commit_cuts = 0
        self.cuts: list[float] = []  # times a connection was cut after COMMIT
        self.connections = 0
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name="cut-proxy", daemon=True)

    def start(self) -> CutProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        self.connections += 1
        pair = (client_w, server_w)
        self._pairs.add(pair)
        try:
            await asyncio.gather(self._pump(client_r, server_w, pair, watch_commit=True),
                                 self._pump(server_r, client_w, pair, watch_commit=False))
        finally:
            self._pairs.discard(pair)
            for w in pair:
                w.close()

    async def _pump(self, reader, writer, pair, *, watch_commit: bool) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
                if watch_commit and self._commit_cuts > 0 and b"COMMIT" in data:
                    self._commit_cuts -= 1
                    self.cuts.append(time.time())
                    client_w, server_w = pair
                    # The client loses its socket now; the server keeps its side a moment so it
                    # reads and executes the COMMIT already sent to it.
                    client_w.transport.abort()
                    await asyncio.sleep(0.2)
                    server_w.close()
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                for w in pair:
                    w.close()

    def arm_commit_cut(self, n: int = 1) -> None:
        self.loop.call_soon_threadsafe(setattr, self, "_commit_cuts", self._commit_cuts + n)

    def sever_all(self) -> int:
        """Abort every open connection in both directions; returns how many were cut."""
        done = threading.Event()
        count = [0]

        def cut() -> None:
            count[0] = len(self._pairs)
            for client_w, server_w in list(self._pairs):
                client_w.transport.abort()
                server_w.transport.abort()
            done.set()

        self.loop.call_soon_threadsafe(cut)
        done.wait(5)
        return count[0]

    def close(self) -> None:
        if self._server is None:
            return

        def stop() -> None:
            self._server.close()
            for client_w, server_w in list(self._pairs):
                client_w.transport.abort()
                server_w.transport.abort()
            self.loop.stop()

        self.loop.call_soon_threadsafe(stop)
        self._thread.join(5)
