"""The events table's schema is EnrichedEvent, column for column."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import BooleanType, DateType, DoubleType, StringType, TimestamptzType

from reviva.adapters.lake.schema import (
    EVENTS_ARROW_SCHEMA,
    EVENTS_PARTITION_SPEC,
    EVENTS_SCHEMA,
    EVENTS_SORT_ORDER,
    _column_types,
    events_to_arrow,
)
from reviva.contracts.events import EnrichedEvent
from tests.adapters.lake.conftest import make_event


def test_columns_are_the_model_fields_in_order() -> None:
    assert [field.name for field in EVENTS_SCHEMA.fields] == list(EnrichedEvent.model_fields)
    assert EVENTS_ARROW_SCHEMA.names == list(EnrichedEvent.model_fields)


def test_optional_fields_are_optional_columns_and_the_rest_required() -> None:
    for field in EVENTS_SCHEMA.fields:
        annotation = str(EnrichedEvent.model_fields[field.name].annotation)
        assert field.required == ("None" not in annotation), field.name
        assert EVENTS_ARROW_SCHEMA.field(field.name).nullable == (not field.required)


def test_column_types() -> None:
    types = {field.name: field.field_type for field in EVENTS_SCHEMA.fields}
    assert types["event_time"] == TimestamptzType()
    assert types["received_at"] == TimestamptzType()
    assert types["event_date"] == DateType()
    assert types["is_bot"] == BooleanType()
    assert types["is_conversion"] == BooleanType()
    assert types["revenue"] == DoubleType()
    assert types["message_id"] == StringType()
    assert types["properties"] == StringType()
    assert EVENTS_ARROW_SCHEMA.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert EVENTS_ARROW_SCHEMA.field("event_date").type == pa.date32()


def test_a_field_type_the_lake_cannot_store_fails_loudly() -> None:
    with pytest.raises(TypeError, match="cannot store"):
        _column_types(dict[str, int] | None, "nested")
    with pytest.raises(TypeError, match="unsupported union"):
        _column_types(str | int | None, "either")


def test_partition_spec_is_day_of_event_time() -> None:
    (field,) = EVENTS_PARTITION_SPEC.fields
    assert isinstance(field.transform, DayTransform)
    assert field.source_id == EVENTS_SCHEMA.find_field("event_time").field_id


def test_sort_order_is_visitor_then_event_time() -> None:
    sources = [EVENTS_SCHEMA.find_column_name(f.source_id) for f in EVENTS_SORT_ORDER.fields]
    assert sources == ["visitor_key", "event_time"]
    assert all(isinstance(f.transform, IdentityTransform) for f in EVENTS_SORT_ORDER.fields)


def test_events_to_arrow_converts_to_utc_and_sorts_by_visitor_and_time() -> None:
    lisbon_summer = timezone(timedelta(hours=1))
    late = make_event(1, visitor="a:b", event_time=datetime(2025, 6, 1, 12, 0, tzinfo=lisbon_summer))
    early = make_event(2, visitor="a:b", event_time=datetime(2025, 6, 1, 10, 0, tzinfo=UTC))
    first_visitor = make_event(3, visitor="a:a")
    table = events_to_arrow([late, early, first_visitor])
    assert table.schema == EVENTS_ARROW_SCHEMA
    assert table.column("visitor_key").to_pylist() == ["a:a", "a:b", "a:b"]
    times = table.column("event_time").to_pylist()
    assert times[1:] == [datetime(2025, 6, 1, 10, 0, tzinfo=UTC), datetime(2025, 6, 1, 11, 0, tzinfo=UTC)]
    assert table.column("event_date").to_pylist()[1] == date(2025, 6, 1)


def test_events_to_arrow_of_nothing_is_an_empty_table() -> None:
    table = events_to_arrow([])
    assert table.num_rows == 0
    assert table.schema == EVENTS_ARROW_SCHEMA
