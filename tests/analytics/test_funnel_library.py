"""Saved funnels: POST and GET /v1/funnels/saved through the service, over an ObjectStore."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from reviva.analytics.errors import InvalidParameter, UnknownItem
from reviva.analytics.funnel_library import MAX_SAVED, SAVED_FUNNELS_KEY, FunnelLibrary
from reviva.analytics.service import AnalyticsService
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics.dataset import D

STEPS = [{"type": "page"}, {"url": "/pricing*"}, {"event": "Booking Submitted"}]


def test_a_saved_funnel_is_listed_opened_by_id_and_runs(
    service: AnalyticsService, store: MemoryObjectStore
) -> None:
    saved = service.answer(
        "save_funnel",
        body={
            "name": " Pricing to booking ",
            "steps": STEPS,
            "labels": ["Visited", "Saw prices"],
            "breakdown": "channel",
        },
    )
    assert saved["name"] == "Pricing to booking"
    assert saved["labels"] == ["Visited", "Saw prices"]
    assert (saved["window_hours"], saved["breakdown"]) == (72, "channel")
    assert len(saved["id"]) == 10 and saved["created_at"] == saved["updated_at"]
    assert json.loads(store.objects[f"{SAVED_FUNNELS_KEY}"])["funnels"][0]["id"] == saved["id"]
    assert service.answer("saved_funnels")["funnels"] == [saved]
    opened = service.answer("saved_funnels", {"id": saved["id"]})["funnels"]
    assert opened == [saved]
    # The definition is a funnel body as it stands.
    body = {k: saved[k] for k in ("steps", "window_hours", "breakdown")}
    answer = service.answer(
        "funnels", body={**body, "from": D.isoformat(), "to": (D + timedelta(days=1)).isoformat()}
    )
    assert [s["visitors"] for s in answer["steps"]] == [3, 2, 2]


def test_saving_with_an_id_replaces_that_funnel_and_the_newest_comes_first() -> None:
    times = iter(datetime(2026, 11, 12, 12, m, tzinfo=UTC) for m in range(10))
    library = FunnelLibrary(MemoryObjectStore(), clock=lambda: next(times))
    first = library.save({"name": "one", "steps": STEPS, "labels": [], "window_hours": 72, "breakdown": None})
    second = library.save(
        {"name": "two", "steps": STEPS, "labels": [], "window_hours": 72, "breakdown": None}
    )
    assert [f["name"] for f in library.all()] == ["two", "one"]
    renamed = library.save({**first, "name": "one, renamed"}, first["id"])
    assert renamed["created_at"] == first["created_at"] and renamed["updated_at"] > second["updated_at"]
    assert [f["name"] for f in library.all()] == ["one, renamed", "two"]
    with pytest.raises(UnknownItem) as caught:
        library.save({**first}, "zzzzzzzzzz")
    assert caught.value.parameter == "id"


def test_an_unknown_id_is_not_found(service: AnalyticsService) -> None:
    with pytest.raises(UnknownItem) as caught:
        service.answer("saved_funnels", {"id": "abcdefghij"})
    assert caught.value.parameter == "id"


def test_the_library_is_bounded() -> None:
    library = FunnelLibrary(MemoryObjectStore())
    definition = {"name": "f", "steps": STEPS, "labels": [], "window_hours": 72, "breakdown": None}
    for _ in range(MAX_SAVED):
        library.save(definition)
    assert len({f["id"] for f in library.all()}) == MAX_SAVED
    with pytest.raises(InvalidParameter) as caught:
        library.save(definition)
    assert caught.value.parameter == "body"


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (None, "body"),
        ([], "body"),
        ({"steps": STEPS}, "name"),
        ({"name": "   ", "steps": STEPS}, "name"),
        ({"name": "x" * 81, "steps": STEPS}, "name"),
        ({"name": "a\u0000b", "steps": STEPS}, "name"),
        ({"name": "f"}, "steps"),
        ({"name": "f", "steps": [{"type": "page"}, {"url": "/a*b"}]}, "steps[1]"),
        ({"name": "f", "steps": STEPS, "labels": "x"}, "labels"),
        ({"name": "f", "steps": STEPS, "labels": ["a", "b", "c", "d"]}, "labels"),
        ({"name": "f", "steps": STEPS, "labels": ["a", 1]}, "labels[1]"),
        ({"name": "f", "steps": STEPS, "window_hours": 0}, "window_hours"),
        ({"name": "f", "steps": STEPS, "breakdown": "browser"}, "breakdown"),
        ({"name": "f", "steps": STEPS, "id": "../x"}, "id"),
        ({"name": "f", "steps": STEPS, "id": 5}, "id"),
    ],
)
def test_bad_bodies_name_the_parameter(service: AnalyticsService, body: object, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        service.answer("save_funnel", body=body)
    assert caught.value.parameter == parameter


@pytest.mark.parametrize("funnel_id", ["short", "ABCDEFGHIJ", "abcdefghij!", "é" * 10])
def test_a_malformed_id_is_a_bad_parameter(service: AnalyticsService, funnel_id: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        service.answer("saved_funnels", {"id": funnel_id})
    assert caught.value.parameter == "id"
