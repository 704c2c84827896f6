"""Malformed and fuzzed input never breaks a node: random API bodies on the edge's write
routes, random CSV files to the patient import, and random (correctly signed) sync
payloads at the hub all answer below 500, and when refused leave the database digest
(a hash of every table's rows) exactly as it was. `--runs N` multiplies the examples."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import zstandard
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from schema.base import utcnow
from sync import wire
from sync.change import ProtocolError
from sync.protocol import Batch, Reply, Request
from sync.signing import sign_request
from sync.transport import EXCHANGE_PATH
from tests.support.clinic import Clinic, patient_fields
from tests.support.identity import make_vehicle
from tests.support.sync import CHAINS, audit_trail, enroll
from tests.support.tables import AUDIT_TABLES, digest, moved

EXAMPLES = 25  # per route test: each example hashes the whole database twice
LIBRARY_EXAMPLES = 300
# Refusals are audited apart (moving the commit counter) and spend a nonce or a login
# attempt: the point of those rows, not a change the input made.
NOT_DATA = (*AUDIT_TABLES, "sync_nonce", "login_state", "sync_counter")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "2026-02-30", "1985-03-14", "0", "-1", "\x00", "9" * 400])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)


def fuzz_settings(runs: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=EXAMPLES * runs,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def mutated(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with one field replaced or added, or dropped, or any value at all."""
    keys = st.sampled_from(sorted(valid)) | st.text(max_size=12)
    replaced = st.tuples(keys, values).map(lambda kv: {**valid, kv[0]: kv[1]})
    dropped = st.sampled_from(sorted(valid)).map(
        lambda k: {key: v for key, v in valid.items() if key != k}
    )
    return replaced | dropped | values


def item_replaced(items: list[Any]) -> st.SearchStrategy[list[Any]]:
    """`items` with one of them replaced by any value."""
    return st.tuples(st.integers(0, len(items) - 1), values).map(
        lambda at: [*items[: at[0]], at[1], *items[at[0] + 1 :]]
    )


def assert_refusal_changed_nothing(engine: Engine, before: str, response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.get_json()["success"] is False
        assert moved(before, digest(engine, NOT_DATA)) == [], response.status_code


@pytest.fixture
def routes(clinic: Clinic) -> list[tuple[str, str, dict[str, Any]]]:
    """The edge's write routes with a valid body each (a patient and a visit to aim at)."""
    clinic.hire("administrator")
    patient = clinic.register()
    visit = clinic.visit_at("doctor_consultation", patient)
    return [
        ("POST", "/api/patients", patient_fields()),
        ("PUT", f"/api/patients/{patient['id']}", {"phone": "0821234567"}),
        ("POST", "/api/visits", {"patient_id": clinic.register()["id"]}),
        ("POST", "/api/vital-signs", {"visit_id": visit, "pulse": 72}),
        ("POST", "/api/diagnoses", {"visit_id": visit, "icd10_code": "J06.9"}),
        ("POST", "/api/clinical-notes", {"visit_id": visit, "body": "Note"}),
        ("POST", "/api/referrals", {"visit_id": visit, "kind": "external", "reason": "x"}),
        ("POST", "/api/patients/bulk", {"patients": [patient_fields()]}),
    ]


def test_fuzzed_api_bodies_get_a_4xx_and_change_nothing(
    clinic: Clinic, routes: list[tuple[str, str, dict[str, Any]]], runs: int
) -> None:
    headers = clinic.staff("administrator").headers

    @fuzz_settings(runs)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        method, path, valid = data.draw(st.sampled_from(routes))
        body = data.draw(mutated(valid))
        before = digest(clinic.engine, NOT_DATA)
        response = clinic.client.open(path, method=method, headers=headers, json=body)
        assert_refusal_changed_nothing(clinic.engine, before, response)

    check()


def test_bodies_that_are_not_json_get_a_400_and_change_nothing(
    clinic: Clinic, routes: list[tuple[str, str, dict[str, Any]]], runs: int
) -> None:
    headers = clinic.staff("administrator").headers

    @fuzz_settings(runs)
    @given(
        route=st.sampled_from(routes),
        raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
        kind=st.sampled_from(["application/json", "text/plain", "multipart/form-data"]),
    )
    def check(route: tuple[str, str, dict[str, Any]], raw: bytes, kind: str) -> None:
        method, path, _ = route
        before = digest(clinic.engine, NOT_DATA)
        response = clinic.client.open(
            path, method=method, headers=headers, data=raw, content_type=kind
        )
        assert_refusal_changed_nothing(clinic.engine, before, response)

    check()


CSV_COLUMNS = ["first_name", "last_name", "id_number", "date_of_birth", "sex", "phone", "x"]
cells = st.text(max_size=20) | st.sampled_from(["", '"', '""', "=cmd()", "\r\n", "1985-13-01"])


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(CSV_COLUMNS), max_size=7) | st.just(CSV_COLUMNS[:6]))
    lines = draw(st.lists(st.lists(cells, max_size=8), max_size=5))
    text = "\n".join([",".join(header), *(",".join(line) for line in lines)])
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace") + draw(st.binary(max_size=8))


def test_fuzzed_csv_imports_get_a_4xx_and_change_nothing(clinic: Clinic, runs: int) -> None:
    headers = clinic.staff("clerk").headers

    @fuzz_settings(runs)
    @given(data=csv_files(), multipart=st.booleans())
    def check(data: bytes, multipart: bool) -> None:
        before = digest(clinic.engine, NOT_DATA)
        if multipart:
            upload = {"file": (io.BytesIO(data), "patients.csv")}
            response = clinic.client.post("/api/patients/import-csv", headers=headers, data=upload)
        else:
            response = clinic.client.post(
                "/api/patients/import-csv", headers=headers, data=data, content_type="text/csv"
            )
        assert_refusal_changed_nothing(clinic.engine, before, response)

    check()


def requests_on_the_wire() -> st.SearchStrategy[bytes]:
    """Sync bodies: random bytes, zstd of random JSON, and real requests with one field
    (of the request, its batch, one change as a row, or one item of a batch's columns,
    hash-chained audit records included) replaced."""
    batch = Batch("b" * 32, 0, 1, [])
    valid = Request(batch, 0, True, 0, 0, "1.0", reported=0, version=1).to_wire()
    change = ["patient", "01a2332e-689b-782f-af20-917cd67e38a1", "u", "0" * 16 + "@x", {}]
    columns = Request(Batch("c" * 32, 0, 3, audit_trail(3)), 0, True, 0).to_wire(CHAINS)
    [group] = columns["batch"]["columns"]
    lists = [at for at, item in enumerate(group) if isinstance(item, list)]
    groups = item_replaced(group) | st.sampled_from(lists).flatmap(
        lambda at: item_replaced(group[at]).map(lambda item: [*group[:at], item, *group[at + 1 :]])
    )
    shapes = (
        mutated(valid)
        | mutated(valid["batch"]).map(lambda b: {**valid, "batch": b})
        | (item_replaced(change) | values).map(
            lambda c: {**valid, "batch": {**valid["batch"], "changes": [c]}}
        )
        | mutated(columns["batch"]).map(lambda b: {**columns, "batch": b})
        | groups.map(lambda g: {**columns, "batch": {**columns["batch"], "columns": [g]}})
    )
    packed = shapes.map(lambda message: wire.pack(message))
    compressed_junk = st.binary(max_size=200).map(zstandard.ZstdCompressor().compress)
    not_json = st.text(max_size=100).map(lambda t: zstandard.ZstdCompressor().compress(t.encode()))
    return packed | compressed_junk | not_json | st.binary(max_size=200)


def test_the_protocol_refuses_any_malformed_message_with_a_protocol_error(runs: int) -> None:
    """The parsers both sides run on what arrives: anything else than ProtocolError would
    be a 500 at the hub or a crashed sync on the edge."""

    @settings(max_examples=LIBRARY_EXAMPLES * runs, deadline=None)
    @given(body=requests_on_the_wire(), parse=st.sampled_from([Request, Reply]))
    def check(body: bytes, parse: type[Request] | type[Reply]) -> None:
        try:
            parse.from_wire(wire.unpack(body), CHAINS)
        except ProtocolError:
            pass

    check()


def test_fuzzed_sync_payloads_get_a_4xx_and_change_nothing(
    hub_app: Flask, hub_client: Any, hub_engine: Engine, runs: int
) -> None:
    vehicle = make_vehicle(hub_engine)
    key = enroll(hub_engine, "dfuzz0000001", vehicle)
    answered: set[int] = set()

    @fuzz_settings(runs)
    @given(body=requests_on_the_wire())
    def check(body: bytes) -> None:
        stamp = int(utcnow().timestamp() * 1000)
        signed = sign_request(key, "dfuzz0000001", "POST", EXCHANGE_PATH, body, stamp)
        before = digest(hub_engine, NOT_DATA)
        response = hub_client.post(
            EXCHANGE_PATH,
            data=body,
            headers={**signed.as_dict(), "Content-Type": wire.CONTENT_TYPE},
        )
        answered.add(response.status_code)
        assert_refusal_changed_nothing(hub_engine, before, response)

    check()
    assert 400 in answered, "no payload was refused: the fuzzer is not reaching the parser"


def test_the_digest_sees_a_change(clinic: Clinic) -> None:
    """The digest the fuzz tests rely on moves when one field of one row changes."""
    patient = clinic.register()
    before = digest(clinic.engine, NOT_DATA)
    clinic.ok("PUT", "clerk", f"/api/patients/{patient['id']}", {"language": "Sesotho"})
    assert digest(clinic.engine, NOT_DATA) != before
