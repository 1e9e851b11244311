"""The latency relay: byte-exact relaying, the added delay, broken connections, shutdown."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.net.relay import LatencyRelay
from bench.net.urls import measure_rtt, relay_url, socket_target_from_url

pytestmark = pytest.mark.timeout(60)

# Client sockets give up after this long, so a relay that hangs fails a test instead of stalling it.
SOCKET_TIMEOUT_S = 5.0


class EchoServer:
    """A TCP echo server on 127.0.0.1 in threads, with a switch to drop every connection."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.address = self.listener.getsockname()
        self.connections: list[socket.socket] = []
        self.closed_by_peer = threading.Event()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.connections.append(conn)
            worker = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _echo(self, conn: socket.socket):
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
            self.closed_by_peer.set()
            conn.shutdown(socket.SHUT_WR)  # answer a half-close with one
        except OSError:
            pass

    def stop(self):
        self._stopping.set()
        self.listener.close()
        for conn in self.connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        for thread in self._threads:
            thread.join(SOCKET_TIMEOUT_S)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def connect(relay: LatencyRelay) -> socket.socket:
    sock = socket.create_connection((relay.host, relay.port), timeout=SOCKET_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, received = [], 0
    while received < size:
        chunk = sock.recv(min(size - received, 1 << 20))
        assert chunk, f"connection closed after {received} of {size} bytes"
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


# --- byte-exact relaying ----------------------------------------------------------------

@pytest.mark.parametrize("rtt_ms", [0.0, 2.0])
def test_large_payload_arrives_byte_exact(rtt_ms):
    payload = os.urandom(8 * 1024 * 1024)
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=rtt_ms) as relay, connect(relay) as sock:
        # Send from a thread while reading here: an echo of 8 MB does not fit in socket buffers.
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        received = recv_exactly(sock, len(payload))
        sender.join()
        assert received == payload
        assert relay.stats()["bytes_to_server"] == len(payload)
        assert relay.stats()["bytes_to_client"] == len(payload)


def test_many_small_writes_arrive_in_order():
    messages = [f"{i:05d};".encode() for i in range(5000)]
    expected = b"".join(messages)
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=1.0) as relay, connect(relay) as sock:
        def send_all():
            for message in messages:
                sock.sendall(message)

        sender = threading.Thread(target=send_all)
        sender.start()
        received = recv_exactly(sock, len(expected))
        sender.join()
        assert received == expected


def test_half_close_delivers_everything_then_eof():
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=2.0) as relay, connect(relay) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        assert recv_exactly(sock, 10) == b"last words"
        assert sock.recv(1) == b""


# --- the added delay ----------------------------------------------------------------------

def test_round_trip_takes_at_least_the_rtt():
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=20.0) as relay, connect(relay) as sock:
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            sock.sendall(b"ping")
            assert recv_exactly(sock, 4) == b"ping"
            timings.append(time.perf_counter() - start)
    # Each chunk is held rtt/2 each way from the moment it arrived: never less than 20 ms.
    assert min(timings) >= 0.020
    assert statistics.median(timings) < 0.200


def test_chunks_are_delayed_side_by_side_not_one_after_another():
    # Ten chunks sent 2 ms apart at 100 ms: held in parallel they all return by ~120 ms;
    # delayed one after another the last would need over 1 s.
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=100.0) as relay, connect(relay) as sock:
        start = time.perf_counter()
        for i in range(10):
            sock.sendall(bytes([i]))
            time.sleep(0.002)
        assert recv_exactly(sock, 10) == bytes(range(10))
        elapsed = time.perf_counter() - start
    assert 0.100 <= elapsed < 0.500


# --- broken connections ------------------------------------------------------------------

def test_unreachable_target_closes_the_client():
    with LatencyRelay(("127.0.0.1", closed_port()), rtt_ms=2.0) as relay, connect(relay) as sock:
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass  # also a prompt, clear end of the connection
        assert relay.stats()["upstream_failures"] == 1
        assert relay.stats()["active_connections"] == 0


def test_upstream_going_away_closes_the_client():
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=2.0) as relay, connect(relay) as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"
        echo.stop()
        assert sock.recv(1) == b""


def test_client_going_away_closes_the_upstream():
    with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=2.0) as relay:
        with connect(relay) as sock:
            sock.sendall(b"hello")
            assert recv_exactly(sock, 5) == b"hello"
        assert echo.closed_by_peer.wait(SOCKET_TIMEOUT_S)
        deadline = time.monotonic() + SOCKET_TIMEOUT_S
        while relay.stats()["active_connections"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert relay.stats()["active_connections"] == 0
        assert relay.stats()["connections"] == 1


def test_psycopg_through_a_relay_to_nothing_raises_promptly():
    with LatencyRelay(("127.0.0.1", closed_port()), rtt_ms=2.0) as relay:
        start = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host=relay.host, port=relay.port, user="postgres", connect_timeout=10)
        assert time.monotonic() - start < 5.0


# --- shutdown -----------------------------------------------------------------------------

def test_close_stops_listening_drops_connections_and_joins_the_thread():
    with EchoServer() as echo:
        relay = LatencyRelay(echo.address, rtt_ms=2.0)
        with relay:
            port = relay.port
            sock = connect(relay)
            sock.sendall(b"x")
            assert recv_exactly(sock, 1) == b"x"
        assert not relay.running
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass
        sock.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
        relay.close()  # twice is fine
        assert not any(t.name.startswith("latency-relay") for t in threading.enumerate())


def test_close_from_a_signal_handler_while_the_main_thread_waits():
    interrupted = []

    def on_alarm(signum, frame):
        relay.close()
        interrupted.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with EchoServer() as echo, LatencyRelay(echo.address, rtt_ms=1000.0) as relay, connect(relay) as sock:
            sock.sendall(b"slow")
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(KeyboardInterrupt):
                sock.recv(4)  # the echo is a second away: the alarm comes first
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert interrupted == [True]
    assert not relay.running


# --- URLs -------------------------------------------------------------------------------

class FakeRelay:
    host, port = "127.0.0.1", 40123


def test_socket_target_from_unix_socket_url():
    url = "postgresql+psycopg://postgres@/postgres?host=/tmp/pg/socket&port=5433"
    assert socket_target_from_url(url) == "/tmp/pg/socket/.s.PGSQL.5433"
    assert socket_target_from_url("postgresql+psycopg://u@/db?host=/run/pg/") == "/run/pg/.s.PGSQL.5432"


def test_socket_target_from_tcp_url():
    assert socket_target_from_url("postgresql+psycopg://u:pw@db.internal:6543/app") == ("db.internal", 6543)
    assert socket_target_from_url("postgresql+psycopg://u:pw@localhost/app") == ("localhost", 5432)
    assert socket_target_from_url("postgresql+psycopg://u@/app?host=db.internal&port=7000") == ("db.internal", 7000)


def test_socket_target_needs_a_host():
    with pytest.raises(ValueError, match="no host"):
        socket_target_from_url("postgresql+psycopg://u@/db")


def test_relay_url_rewrites_tcp_and_keeps_the_rest():
    url = "postgresql+psycopg://u:s3cret@db.internal:6543/app?sslmode=disable"
    assert relay_url(url, FakeRelay) == "postgresql+psycopg://u:s3cret@127.0.0.1:40123/app?sslmode=disable"


def test_relay_url_rewrites_unix_socket_url():
    url = "postgresql+psycopg://postgres@/postgres?host=/tmp/pg/socket&port=5432"
    assert relay_url(url, FakeRelay) == "postgresql+psycopg://postgres@127.0.0.1:40123/postgres"


# --- real PostgreSQL ----------------------------------------------------------------------

@pytest.mark.db
def test_queries_through_the_relay_return_the_right_results(database_url):
    with LatencyRelay(socket_target_from_url(database_url), rtt_ms=1.0) as relay:
        engine = create_engine(relay_url(database_url, relay), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("select 1")).scalar_one() == 1
                total = conn.execute(text("select sum(g), count(*) from generate_series(1, 100000) g")).one()
                assert tuple(total) == (5000050000, 100000)
                rows = conn.execute(text("select g, repeat('x', 100) from generate_series(1, 20000) g")).all()
                assert [g for g, _ in rows] == list(range(1, 20001))
                assert conn.execute(text("select inet_client_addr() is null")).scalar_one() is True
        finally:
            engine.dispose()
        stats = relay.stats()
    assert stats["connections"] == 1
    assert stats["bytes_to_client"] > 20000 * 100


@pytest.mark.db
def test_sequential_statements_each_pay_the_rtt(database_url):
    with LatencyRelay(socket_target_from_url(database_url), rtt_ms=5.0) as relay:
        engine = create_engine(relay_url(database_url, relay), poolclass=NullPool,
                               isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("select 1")  # connect and warm up outside the timing
                start = time.perf_counter()
                for _ in range(20):
                    conn.exec_driver_sql("select 1").scalar_one()
                elapsed = time.perf_counter() - start
        finally:
            engine.dispose()
    assert elapsed >= 20 * 0.005


@pytest.mark.db
def test_measure_rtt_sees_the_added_delay(database_url):
    direct = measure_rtt(database_url, samples=30)
    with LatencyRelay(socket_target_from_url(database_url), rtt_ms=5.0) as relay:
        relayed = measure_rtt(relay_url(database_url, relay), samples=30)
    assert relayed >= 5.0
    # the lower bound is what the relay guarantees; the upper one only says nothing runs away, and is
    # loose enough for a machine with one busy process per core
    assert 4.0 <= relayed - direct <= 50.0


@pytest.mark.db
def test_terminated_backend_gives_a_clear_error_not_a_hang(database_url, engine):
    with LatencyRelay(socket_target_from_url(database_url), rtt_ms=2.0) as relay:
        with psycopg.connect(host=relay.host, port=relay.port, user="postgres", dbname="postgres",
                             connect_timeout=10, autocommit=True) as conn:
            pid = conn.execute("select pg_backend_pid()").fetchone()[0]
            with engine.connect() as admin:
                admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
            start = time.monotonic()
            with pytest.raises(psycopg.OperationalError):
                conn.execute("select 1")
            assert time.monotonic() - start < 5.0
