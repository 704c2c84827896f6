"""A loopback HTTP proxy that counts requests and bytes both ways, so every contender in a
benchmark is measured the same way: what a real network would carry, headers included;
and the loopback plumbing the benchmarks and the tests share (`serving`, `Loopback`)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from werkzeug.serving import make_server

L = TypeVar("L", bound="Loopback")


@dataclass
class Count:
    requests: int = 0
    sent: int = 0  # client to server, headers and body
    received: int = 0  # server to client, headers and body
    largest: int = 0  # the biggest single request

    @property
    def total(self) -> int:
        return self.sent + self.received


def read_request(conn: socket.socket) -> bytes:
    """One HTTP/1.1 request with a Content-Length body (all our clients send one)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def close_after(request: bytes) -> bytes:
    """The request with `Connection: close`, so the upstream's answer ends at EOF."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body


class Loopback(ABC):
    """A listening socket on loopback; each connection is handled in its own thread by
    the subclass's `_handle`."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @abstractmethod
    def _handle(self, conn: socket.socket) -> None:
        """Serve one accepted connection (and close it)."""

    def stop(self) -> None:
        self._stop.set()
        self.server.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The base URL of a WSGI app served on loopback in a thread, without request logs."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def running(server: L) -> Iterator[L]:
    """`server` serving in a thread until the block ends."""
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=5)


class Meter(Loopback):
    """Forwards each request to `target` and counts it; one request per connection. It
    also times each at the server's door: from the request read in full to the response
    read in full, which leaves out how long the client takes to send and to read."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__()
        self.target = target
        self.count = Count()
        self.seconds: list[float] = []  # each request's time at the door
        self._lock = threading.Lock()

    def reset(self) -> Count:
        """The count so far, starting a new one (and new door times)."""
        with self._lock:
            count, self.count = self.count, Count()
            self.seconds = []
        return count

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            request = read_request(conn)
            if not request:
                return
            started = time.perf_counter()
            with socket.create_connection(self.target, timeout=120) as upstream:
                upstream.sendall(close_after(request))
                response = b""
                while chunk := upstream.recv(65536):
                    response += chunk
            took = time.perf_counter() - started
            with self._lock:  # counted before the client hears, so its next step sees it
                self.seconds.append(took)
                self.count.requests += 1
                self.count.sent += len(request)
                self.count.received += len(response)
                self.count.largest = max(self.count.largest, len(request))
            conn.sendall(response)


@contextmanager
def metering(base_url: str) -> Iterator[Meter]:
    """A counting proxy in front of the HTTP server at `base_url`."""
    host, port = base_url.removeprefix("http://").split(":")
    with running(Meter((host, int(port)))) as meter:
        yield meter
