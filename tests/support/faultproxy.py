"""A loopback HTTP proxy that misbehaves on purpose: it cuts connections mid-request or
after the server has answered, delivers a request twice, and delays responses.

Each accepted connection takes the next fault from `faults` (a callable, so a test can
draw them at random); the proxy speaks just enough HTTP/1.1 to find a request's end.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.meter import Loopback, close_after, read_request, running

FAULTS = ("pass", "cut_request", "cut_response", "duplicate", "delay")


def _forward(target: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(target, timeout=60) as upstream:
        upstream.sendall(request)
        response = b""
        while chunk := upstream.recv(65536):
            response += chunk
    return response


class FaultProxy(Loopback):
    def __init__(self, target: tuple[str, int], faults: Callable[[], str]) -> None:
        super().__init__()
        self.target = target
        self.faults = faults
        self.seen: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self.requests: list[bytes] = []  # every request received, in order, as sent

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


@contextmanager
def fault_proxy(base_url: str, faults: Callable[[], str]) -> Iterator[FaultProxy]:
    host, port = base_url.removeprefix("http://").split(":")
    with running(FaultProxy((host, int(port)), faults)) as proxy:
        yield proxy
