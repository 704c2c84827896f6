"""A loopback TCP proxy that behaves like a slow mobile link, because this kernel has no
netem: each direction is a token bucket (bytes leave at the link's rate, after a burst of
one packet) followed by a fixed one-way delay, shared by every connection; a new
connection waits one round trip (the TCP handshake) before its first byte leaves; and the
benchmark can ask it to drop the connection that carries the upload crossing a byte mark,
just as the reply starts to come back (so the hub has done the work and the edge never
hears of it: the hardest case for a resend)."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.meter import Loopback, running

PACKET = 1460  # bytes: the bucket's burst, one TCP segment


class Direction:
    """One way of the link: a token bucket of `rate` bytes/s, then `delay` seconds."""

    def __init__(self, rate: float, delay: float) -> None:
        self.rate = rate
        self.delay = delay
        self.bytes = 0
        self._free_at = 0.0  # when the bucket has refilled for the next packet
        self._lock = threading.Lock()

    def arrival(self, size: int, not_before: float) -> float:
        """When `size` bytes handed to the link now arrive at the far end."""
        with self._lock:
            self.bytes += size
            start = max(time.monotonic() - PACKET / self.rate, self._free_at, not_before)
            self._free_at = start + size / self.rate
            return self._free_at + self.delay


class Shaper(Loopback):
    """The slow link in front of `target`: `rate` bytes/s each way, `rtt` seconds."""

    def __init__(self, target: tuple[str, int], rate: float, rtt: float, drops: list[int]) -> None:
        super().__init__()
        self.target = target
        self.rtt = rtt
        self.drops = drops  # upload byte marks to drop a connection at
        self.connections = 0
        self.dropped = 0
        self.up = Direction(rate, rtt / 2)
        self.down = Direction(rate, rtt / 2)
        self._lock = threading.Lock()

    def _handle(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        handshake = time.monotonic() + self.rtt
        with client, socket.create_connection(self.target, timeout=300) as upstream:
            doomed = threading.Event()  # set when this connection's upload crossed a mark
            down = threading.Thread(
                target=self._pump, args=(upstream, client, self.down, 0.0, doomed), daemon=True
            )
            down.start()
            self._pump(client, upstream, self.up, handshake, doomed)
            down.join()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        way: Direction,
        not_before: float,
        doomed: threading.Event,
    ) -> None:
        """Carry bytes from `source` to `sink` at the link's pace, a reader and a writer so
        bytes in flight do not hold up the next ones."""
        flight: queue.Queue[tuple[float, bytes]] = queue.Queue()
        writer = threading.Thread(target=self._deliver, args=(flight, sink, source), daemon=True)
        writer.start()
        try:
            while data := source.recv(PACKET):
                if way is self.down and doomed.is_set():
                    break
                flight.put((way.arrival(len(data), not_before), data))
                if way is self.up and self._crosses_mark(way.bytes):
                    doomed.set()
        except OSError:
            pass
        if way is self.down and doomed.is_set():
            with self._lock:
                self.dropped += 1
            for end in (source, sink):  # shutdown first: it wakes a recv blocked on it
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            return
        flight.put((time.monotonic(), b""))
        writer.join()

    def _crosses_mark(self, sent: int) -> bool:
        with self._lock:
            if self.drops and sent >= self.drops[0]:
                self.drops.pop(0)
                return True
        return False

    @staticmethod
    def _deliver(
        flight: queue.Queue[tuple[float, bytes]], sink: socket.socket, source: socket.socket
    ) -> None:
        try:
            while True:
                at, data = flight.get()
                time.sleep(max(0.0, at - time.monotonic()))
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
        except OSError:
            source.close()  # the far end is gone: stop reading too


@contextmanager
def shaping(base_url: str, rate: float, rtt: float, drops: list[int]) -> Iterator[Shaper]:
    """A slow link in front of the HTTP server at `base_url`."""
    host, port = base_url.removeprefix("http://").split(":")
    with running(Shaper((host, int(port)), rate, rtt, sorted(drops))) as shaper:
        yield shaper
