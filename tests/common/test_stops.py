"""One set of stop rules for head office's planning: its API and its routes CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import ValidationError

from common.stops import StopIn, order_problem, slot_times
from hub.planning.schemas import RouteCsvRow
from hub.planning.schemas import RouteIn as OfficeRoute

STOP = {
    "location_id": "0190d1a0-0000-7000-8000-0000000000a1",
    "arrival_at": "2026-12-03T07:00:00",
    "departure_at": "2026-12-03T15:00:00",
}


def test_a_stop_without_an_offset_is_utc_and_gets_the_default_slots() -> None:
    stop = StopIn().load(STOP)
    assert stop["arrival_at"] == dt.datetime(2026, 12, 3, 7, tzinfo=dt.UTC)
    assert (stop["slot_minutes"], stop["slot_capacity"]) == (30, 1)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"departure_at": "2026-12-03T07:00:00"}, "departure_at", "after arrival"),
        ({"departure_at": "2026-12-04T08:00:00"}, "departure_at", "at most a day"),
        ({"slot_minutes": 481}, "slot_minutes", ""),
        ({"slot_capacity": 0}, "slot_capacity", ""),
    ],
)
def test_the_api_and_the_csv_refuse_the_same_stops(change: dict, field: str, message: str) -> None:
    stop = {**STOP, **change}
    office = {
        "name": "North",
        "route_date": "2026-12-03",
        "stops": [stop],
        "vehicle_id": "0190d1a0-0000-7000-8000-0000000000b1",
    }
    row = {
        **{k: v for k, v in stop.items() if k != "location_id"},
        "vehicle": "TEST0001GP",
        "route_date": "2026-12-03",
        "route_name": "North",
        "sequence": 1,
        "location": "Jane Furse",
    }
    for schema, body, where in (
        (OfficeRoute(), office, lambda e: e["stops"][0]),
        (RouteCsvRow(), row, lambda e: e),
    ):
        with pytest.raises(ValidationError) as refused:
            schema.load(body)
        errors = where(refused.value.messages)
        assert field in errors, (type(schema).__name__, errors)
        assert message in " ".join(errors[field])


def test_a_long_day_of_long_slots_is_taken() -> None:
    stop = {**STOP, "slot_minutes": 240, "slot_capacity": 150}
    office = OfficeRoute().load(
        {"name": "North", "route_date": "2026-12-03", "stops": [stop], "vehicle_id": "v1"}
    )
    assert office["stops"] == [StopIn().load(stop)]


def test_a_stop_is_cut_into_whole_slots_and_a_short_stop_is_one() -> None:
    day = StopIn().load({**STOP, "slot_minutes": 180})
    assert [(a.hour, b.hour) for a, b in slot_times(day)] == [(7, 10), (10, 13)]
    short = StopIn().load({**STOP, "departure_at": "2026-12-03T07:20:00"})
    assert [(a.minute, b.minute) for a, b in slot_times(short)] == [(0, 20)]


def test_stops_must_follow_one_another() -> None:
    first = StopIn().load(STOP)
    second = StopIn().load(
        {**STOP, "arrival_at": "2026-12-03T14:00:00", "departure_at": "2026-12-03T16:00:00"}
    )
    assert order_problem([first, second]) == "Stop 2 arrives before the stop before it leaves"
    assert order_problem([first]) is None
