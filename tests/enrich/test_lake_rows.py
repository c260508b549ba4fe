"""Lake rows: what ingest accepted is what the lake stores."""

from __future__ import annotations

import json
from typing import Any

from reviva.adapters.lake.schema import events_to_arrow
from reviva.enrich.event_facts import describe_event
from reviva.enrich.lake_rows import build_lake_row
from reviva.enrich.stream_records import StreamRecord
from reviva.enrich.visitor_update import AppliedEvent
from reviva.segment.limits import MAX_MESSAGE_BYTES
from tests.enrich.builders import event


def _row_of(properties: dict[str, Any]) -> str | None:
    sent = event("v1", kind="track", name="Quote Requested", properties=properties)
    record = StreamRecord("shardId-000000000000", "1", sent.visitor_key, b"")
    row = build_lake_row(record, sent, describe_event(sent), AppliedEvent())
    assert events_to_arrow([row]).num_rows == 1  # the lake's columns hold it
    return row.properties


def test_properties_up_to_the_message_limit_are_stored_whole() -> None:
    properties = {"notes": "x" * (MAX_MESSAGE_BYTES - 1024), "items": list(range(50))}
    stored = _row_of(properties)
    assert stored is not None and len(stored) > 16_384
    assert json.loads(stored) == properties


def test_non_ascii_properties_are_stored_as_sent_not_escaped() -> None:
    properties = {"modelo": "ação 修理 📱" * 1000}
    stored = _row_of(properties)
    assert stored is not None and json.loads(stored) == properties
    assert len(stored.encode("utf-8")) < 2 * len(json.dumps(properties, ensure_ascii=False).encode("utf-8"))
