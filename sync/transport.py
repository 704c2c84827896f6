"""How an edge reaches the hub: one signed HTTP POST per exchange.

The edge only needs `Transport.exchange(body, hub_time_ms) -> reply bytes`; tests plug in
other transports (a Flask test client, a faulty proxy). Failures are sorted by what the
edge should do next: `Unreachable` (try again later, with backoff), `StaleClock` (correct
the clock offset and retry now), `HubRefused` (stop: a person must act, e.g. revoked),
`CertificateChanged` (the hub's TLS certificate is not the one pinned at enrollment).
"""

from __future__ import annotations

from typing import Any, Protocol

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from requests.adapters import HTTPAdapter

from sync.signing import sign_request
from sync.wire import CONTENT_TYPE

EXCHANGE_PATH = "/api/sync/exchange"
TIMEOUT = (10, 120)  # connect, read (seconds): a slow 3G link still finishes a batch


class SyncError(Exception):
    """A sync could not complete; the message is for the crew and the technician."""


class Unreachable(SyncError):
    """The hub could not be reached or failed; retry later."""


class HubRefused(SyncError):
    """The hub refused the request; retrying will not help until someone acts."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the hub refused the sync ({status}): {message}")
        self.status = status


class StaleClock(HubRefused):
    """The request's timestamp was outside the hub's window; `hub_time` is the hub's clock."""

    def __init__(self, message: str, hub_time: int) -> None:
        super().__init__(401, message)
        self.hub_time = hub_time


class CertificateChanged(SyncError):
    """The hub presented a TLS certificate other than the one pinned at enrollment: the
    edge sends nothing (not even a signed request) until someone checks why."""

    def __init__(self, pin: str) -> None:
        super().__init__(
            "the hub's TLS certificate is not the one pinned at enrollment "
            f"(SHA-256 {pin}); refusing to sync: if head office renewed it, re-enroll "
            "this laptop, otherwise report a possible interception"
        )


class _Pinned(HTTPAdapter):
    """HTTPS whose server certificate must have the pinned SHA-256 (checked by urllib3
    during the handshake, after the usual chain and host name verification)."""

    def __init__(self, pin: str) -> None:
        self.pin = pin
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self.pin
        super().init_poolmanager(*args, **kwargs)


def pinned_session(pin: str | None) -> requests.Session:
    """A requests session that refuses any hub certificate but `pin` (None: no pin)."""
    session = requests.Session()
    if pin:
        session.mount("https://", _Pinned(pin))
    return session


def unreachable(error: requests.RequestException, pin: str | None) -> SyncError:
    """The error for a request that did not complete: a pin mismatch, or the link."""
    if pin and isinstance(error, requests.exceptions.SSLError):
        if "fingerprints did not match" in str(error).lower():
            return CertificateChanged(pin)
    return Unreachable(f"cannot reach the hub: {type(error).__name__}")


class Transport(Protocol):
    def exchange(self, body: bytes, hub_time_ms: int) -> bytes: ...


class HttpTransport:
    """Signed POSTs to the hub with requests (TLS verified against `verify`, and the
    certificate's SHA-256 against `pin` when enrollment recorded one)."""

    def __init__(
        self,
        hub_url: str,
        device_id: str,
        key: Ed25519PrivateKey,
        *,
        verify: bool | str = True,
        pin: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.url = hub_url.rstrip("/") + EXCHANGE_PATH
        self.device_id = device_id
        self.key = key
        self.verify = verify
        self.pin = pin
        self.session = session or pinned_session(pin)

    def exchange(self, body: bytes, hub_time_ms: int) -> bytes:
        headers = sign_request(self.key, self.device_id, "POST", EXCHANGE_PATH, body, hub_time_ms)
        try:
            response = self.session.post(
                self.url,
                data=body,
                headers={**headers.as_dict(), "Content-Type": CONTENT_TYPE},
                timeout=TIMEOUT,
                verify=self.verify,
            )
        except requests.RequestException as error:
            raise unreachable(error, self.pin) from None
        if response.status_code == 200:
            return response.content
        raise refusal(response.status_code, _json(response))


def refusal(status: int, payload: dict[str, object]) -> SyncError:
    """The error for a non-200 answer from the hub."""
    message = str(payload.get("error") or f"HTTP {status}")
    details = payload.get("details")
    hub_time = details.get("hub_time") if isinstance(details, dict) else None
    if status == 401 and isinstance(hub_time, int):
        return StaleClock(message, hub_time)
    if status >= 500 or status in (408, 429):
        return Unreachable(f"the hub could not take the sync now ({status}): {message}")
    return HubRefused(status, message)


def _json(response: requests.Response) -> dict[str, object]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
