"""The hub's client: built from the hub's settings, and honest about answers it cannot
read (from a real misbehaving HTTP server, as a broken gateway would answer)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bench.meter import serving
from hub.claims.palmed import NotFound, OutcomeUnknown, PalmedClient
from tests.palmed.conftest import ACTIVE
from tests.support.palmed import Sandbox, claim_request


def test_the_client_is_built_from_the_hubs_settings(sandbox: Sandbox) -> None:
    settings = {"PALMED_API_URL": sandbox.url + "/", "PALMED_API_KEY": sandbox.api_key}
    with PalmedClient.from_config(settings, read_timeout=5.0) as client:
        assert client.timeout == (3.05, 5.0)
        assert client.member(*ACTIVE).eligible is True
    with PalmedClient.from_config({**settings, "PALMED_READ_TIMEOUT_SECONDS": 7}) as client:
        assert client.timeout == (3.05, 7.0)  # the hub's PALMED_READ_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("url", "key", "problem"),
    [("127.0.0.1:5200", "k", "must be an http"), ("http://127.0.0.1:5200", "", "PALMED_API_KEY")],
)
def test_the_client_refuses_settings_it_cannot_use(url: str, key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PalmedClient(url, key)


def gateway(status: str, body: bytes, content_type: str = "text/html") -> Callable[..., Any]:
    """A WSGI app answering every request the same way, as a broken proxy might."""

    def app(_environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, [("Content-Type", content_type)])
        return [body]

    return app


@pytest.mark.parametrize(
    "app",
    [
        gateway("200 OK", b"<html>maintenance</html>"),
        gateway("201 Created", b'{"success": true, "data": {"claim_id": 7}}', "application/json"),
        gateway("302 Found", b""),
        gateway("504 Gateway Timeout", b"<html>upstream timed out</html>"),
    ],
    ids=["HTML 200", "wrong shape", "redirect", "HTML 504"],
)
def test_an_answer_that_cannot_be_read_is_an_unknown_outcome(app: Callable[..., Any]) -> None:
    with serving(app) as url, PalmedClient(url, "key") as client:
        with pytest.raises(OutcomeUnknown):
            client.submit_claim(claim_request(), "key-unreadable-1")


def test_a_plain_404_is_not_found() -> None:
    with serving(gateway("404 Not Found", b"<html>no</html>")) as url:
        with PalmedClient(url, "key") as client, pytest.raises(NotFound) as missing:
            client.claim_status("PLM0000000000")
    assert missing.value.status == 404
