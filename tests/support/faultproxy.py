"""A loopback HTTP proxy that misbehaves on purpose: it cuts connections mid-request or
after the server has answered, delivers a request twice, and delays responses.

Each accepted connection takes the next fault from `faults` (a callable, so a test can
draw them at random); the proxy speaks just enough HTTP/1.1 to find a request's end.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.meter import close_after, read_request

FAULTS = ("pass", "cut_request", "cut_response", "duplicate", "delay")


def _forward(target: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(target, timeout=60) as upstream:
        upstream.sendall(request)
        response = b""
        while chunk := upstream.recv(65536):
            response += chunk
    return response


class FaultProxy:
    def __init__(self, target: tuple[str, int], faults: Callable[[], str]) -> None:
        self.target = target
        self.faults = faults
        self.seen: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self.requests: list[bytes] = []  # every request received, in order, as sent
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()

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

    def _handle(self, conn: socket.socket) -> None:
        fault = self.faults()
        self.seen[fault] += 1
        with conn:
            request = close_after(read_request(conn))
            self.requests.append(request)
            if fault == "cut_request":
                return  # the hub never sees it
            response = _forward(self.target, request)
            if fault == "cut_response":
                return  # the hub applied it; the edge never hears
            if fault == "duplicate":
                _forward(self.target, request)  # delivered twice; the first answer returns
            if fault == "delay":
                time.sleep(0.3)
            conn.sendall(response)

    def stop(self) -> None:
        self._stop.set()
        self.server.close()


@contextmanager
def fault_proxy(base_url: str, faults: Callable[[], str]) -> Iterator[FaultProxy]:
    host, port = base_url.removeprefix("http://").split(":")
    proxy = FaultProxy((host, int(port)), faults)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        thread.join(timeout=5)
