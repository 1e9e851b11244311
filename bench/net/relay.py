"""A loopback TCP relay that adds a fixed network round-trip time in front of PostgreSQL.

The same workload behaves very differently when every statement costs a network
round trip (an N+1 across availability zones pays 1–2 ms per query), so every
measurement can be repeated through this relay at a chosen ``rtt_ms``.

Each direction of a relayed connection holds what it receives for ``rtt_ms / 2``
(see bench.net.delay), so one request plus its response gains ``rtt_ms`` in total;
throughput is not limited by the delay, only latency is added.

The relay runs its own asyncio loop in a daemon thread. That loop uses
``select()`` rather than the default epoll: epoll_wait() takes a timeout in whole
milliseconds, rounded up, which would turn a 0.25 ms hold into 1 ms; select()
sleeps with microsecond resolution. select() only handles file descriptors below
1024, which a relay serving a benchmark's few connections stays far below.
"""

from __future__ import annotations

import asyncio
import selectors
import threading

from bench.net.delay import CLOSE, EOF, Direction, tighten_timer_slack

# How long close() waits for the relay thread; the thread is a daemon, so a
# wedged loop can never keep the process alive.
_JOIN_TIMEOUT_S = 5.0
_CONNECT_TIMEOUT_S = 10.0
_STARTUP_TIMEOUT_S = 10.0


class _Side(asyncio.Protocol):
    """One socket of a relayed pair; what it receives goes out through ``outbound``."""

    def __init__(self, pair: _Pair, outbound: Direction):
        self._pair = pair
        self._outbound = outbound
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._pair.side_made(self)

    def data_received(self, data: bytes) -> None:
        self._outbound.push(data)

    def eof_received(self) -> bool:
        self._outbound.push(EOF)
        return True  # keep our write side open: the other direction may still answer

    def connection_lost(self, exc) -> None:
        self.lost = True
        # The other side learns of it only after the data already on its way.
        self._outbound.push(CLOSE)
        self._pair.side_lost()

    # Backpressure: while our socket cannot keep up, stop reading from the peer.
    def pause_writing(self) -> None:
        if self.peer is not None and not self.peer.transport.is_closing():
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and not self.peer.transport.is_closing():
            self.peer.transport.resume_reading()


class _Pair:
    """A client connection and its upstream connection, relayed both ways."""

    def __init__(self, relay: LatencyRelay):
        self._relay = relay
        loop = relay._loop
        delay_s = relay.rtt_ms / 2000.0
        self.to_server = Direction(loop, delay_s, relay._add_bytes_to_server, self._eof_sent)
        self.to_client = Direction(loop, delay_s, relay._add_bytes_to_client, self._eof_sent)
        self.client = _Side(self, self.to_server)
        self.server: _Side | None = None

    def side_made(self, side: _Side) -> None:
        if side is self.client:
            # What the client sends before the upstream socket exists waits in Direction.
            # (Pausing the transport inside connection_made is lost on Python < 3.11.3: the
            # reader the transport adds right after this call would then never come back.)
            self._relay._loop.create_task(self._relay._connect_upstream(self))

    def attach_server(self, server: _Side) -> None:
        self.server = server
        server.peer, self.client.peer = self.client, server
        self.to_client.attach(self.client.transport)
        self.to_server.attach(server.transport)

    def _eof_sent(self) -> None:
        # Both ways half-closed and drained: nothing more can flow.
        if self.to_server.eof_sent and self.to_client.eof_sent:
            self.close_both()

    def side_lost(self) -> None:
        if all(side.lost for side in (self.client, self.server) if side is not None):
            self.forget()

    def close_both(self) -> None:
        for side in (self.client, self.server):
            if side is not None and not side.transport.is_closing():
                side.transport.close()

    def abort(self) -> None:
        self.to_server.cancel()
        self.to_client.cancel()
        for side in (self.client, self.server):
            if side is not None and side.transport is not None:
                side.transport.abort()
        self.forget()

    def forget(self) -> None:
        self._relay._pairs.discard(self)


class LatencyRelay:
    """Relay 127.0.0.1:<ephemeral port> to ``target``, adding ``rtt_ms`` per round trip.

    ``target`` is ``(host, port)`` or the path of a unix socket file, e.g.
    ``/tmp/sockdir/.s.PGSQL.5432`` (see :func:`bench.net.urls.socket_target_from_url`).
    """

    def __init__(self, target: tuple[str, int] | str, rtt_ms: float = 0.0):
        if rtt_ms < 0:
            raise ValueError(f"rtt_ms must be >= 0, got {rtt_ms}")
        self.target = target
        self.rtt_ms = float(rtt_ms)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._pairs: set[_Pair] = set()
        self._stats = {
            "connections": 0,
            "upstream_failures": 0,
            "bytes_to_server": 0,
            "bytes_to_client": 0,
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._closed = False

    # -- lifecycle (called from the owning thread) ---------------------------------
    def start(self) -> LatencyRelay:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name=f"latency-relay-{self.rtt_ms}ms", daemon=True)
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT_S):
            self.close()
            raise RuntimeError("latency relay did not start listening in time")
        if self._start_error is not None:
            self.close()
            raise RuntimeError(f"latency relay could not listen: {self._start_error}") from self._start_error
        return self

    def close(self) -> None:
        """Stop listening, drop every relayed connection, join the thread. Idempotent."""
        # A plain flag, no lock: close() may re-enter from a signal handler while an
        # earlier close() is still running, and a lock would deadlock there.
        if self._closed:
            return
        self._closed = True
        loop, thread = self._loop, self._thread
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._shutdown)
            except RuntimeError:  # the loop closed between the check and the call
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)

    def __enter__(self) -> LatencyRelay:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> dict:
        """Counters for the run metadata; safe to call from any thread."""
        return {"rtt_ms": self.rtt_ms, **self._stats, "active_connections": len(self._pairs)}

    def _add_bytes_to_server(self, count: int) -> None:
        self._stats["bytes_to_server"] += count

    def _add_bytes_to_client(self, count: int) -> None:
        self._stats["bytes_to_client"] += count

    # -- relay thread ---------------------------------------------------------------
    def _run(self) -> None:
        tighten_timer_slack()
        loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
        self._loop = loop
        try:
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(self._accept, self.host, 0, reuse_address=True)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except OSError as exc:
                self._start_error = exc
                return
            finally:
                self._ready.set()
            if not self._closed:
                loop.run_forever()
        finally:
            # Cancel upstream connects still in flight and let transports aborted by
            # _shutdown run their close callbacks before the loop goes away.
            loop.run_until_complete(_cancel_pending())
            loop.close()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for pair in list(self._pairs):
            pair.abort()
        self._loop.stop()

    def _accept(self) -> _Side:
        pair = _Pair(self)
        self._pairs.add(pair)
        self._stats["connections"] += 1
        return pair.client

    async def _connect_upstream(self, pair: _Pair) -> None:
        loop = self._loop
        factory = lambda: _Side(pair, pair.to_client)  # noqa: E731
        try:
            if isinstance(self.target, str):
                connect = loop.create_unix_connection(factory, self.target)
            else:
                connect = loop.create_connection(factory, *self.target)
            _, server = await asyncio.wait_for(connect, _CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            # Closing the client at once makes libpq report "server closed the
            # connection unexpectedly" instead of waiting for a reply forever.
            self._stats["upstream_failures"] += 1
            pair.abort()
            return
        if pair.client.transport.is_closing():  # the client gave up meanwhile
            server.transport.close()
            pair.forget()
            return
        pair.attach_server(server)


async def _cancel_pending() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
