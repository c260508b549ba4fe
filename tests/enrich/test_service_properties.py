"""Property test: every event ingest accepts is, in enrich, either applied or rejected with a reason.

Generated Segment requests (hostile strings and URLs, huge and odd numbers, unicode, nesting) go
through ingest's real edge and collector on in-memory adapters; whatever the stream accepted is
encoded as ingest's publisher encodes it and fed to enrich's `process_batch` on the in-memory
fakes. No exception may escape, and each accepted message is either in the lake or in the poison
sink with its reason; a redelivery of the same batch changes nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviva.adapters.kinesis_publisher import build_records
from reviva.adapters.lake.schema import events_to_arrow
from reviva.api.ingest_http import IngestRequest
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.stream_records import StreamRecord
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from tests.ingest.harness import NOW, basic_auth, make_harness

SHARD = "shardId-000000000000"

# Text a hostile or careless client sends: any unicode (lone surrogates included, which ingest
# refuses), control characters, and strings that look like markup, paths or numbers.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec=None), max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202e",
            "%",
            "%zz",
            "%00",
            "..",
            "/services/",
            "/services//x",
            "<script>",
            "NaN",
            "-0",
            "1e999",
            "9" * 40,
            "a@b.example",
            "é" * 30,
            "👩‍👩‍👧",
        ]
    ),
)
hostile_urls = st.one_of(
    st.sampled_from(
        [
            "https://[x/",
            "https://[x/?gclid=1&utm_source=a",
            "http://[::1",
            "https://[::1]:99999/",
            "https://example.com:-1/",
            "https://example.com:abc/",
            "http://ex ample.com/",
            "https://%zz/",
            "//",
            "https://",
            "https://revivatech.co.uk/services/screen-repair?utm_source=x&utm_source=y&gclid=1",
            "https://revivatech.co.uk/?utm_medium=%FF&utm_campaign=%00",
            "https://xn--/",
            "https://xn--a.com/",
            "https://é.com/%",
            "javascript:alert(1)",
            "mailto:a@b.example",
            "https://user:pass@host/",
            "https://google.com/search?q=a",
            "https://l.facebook.com/?fbclid=1",
            "https://revivatech.co.uk/#gclid=1",
            "https://revivatech.co.uk/" + "a/" * 500,
        ]
    ),
    st.builds(lambda host, path: f"https://{host}/{path}", hostile_text, hostile_text),
    hostile_text,
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(-0.0),
    st.just(1e308),
    st.just(5e-324),
)
json_scalars = st.none() | st.booleans() | numbers | hostile_text | hostile_urls
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(hostile_text, json_values, max_size=5)
# Keys enrich reads, so the generated values reach its code paths.
properties = st.fixed_dictionaries(
    {},
    optional={
        "revenue": json_scalars,
        "service": json_scalars,
        "url": hostile_urls | json_scalars,
        "path": hostile_text | json_scalars,
        "referrer": hostile_urls | json_scalars,
        "title": json_scalars,
        "search": json_scalars,
        "user_id": json_scalars,
        "nested": json_values,
    },
)
page_context = st.fixed_dictionaries(
    {},
    optional={
        "url": hostile_urls | json_scalars,
        "path": hostile_text | json_scalars,
        "referrer": hostile_urls | json_scalars,
        "title": json_scalars,
        "search": json_scalars,
    },
)
context = st.fixed_dictionaries(
    {},
    optional={
        "page": st.one_of(page_context, page_context, json_values),
        "campaign": st.dictionaries(
            st.sampled_from(["source", "medium", "name", "term", "content", "gclid"]) | hostile_text,
            json_scalars,
            max_size=4,
        )
        | json_values,
        "userAgent": hostile_text
        | st.sampled_from(
            [
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36",
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Mozilla/5.0 (" + "(" * 200,
            ]
        ),
        "library": st.dictionaries(st.sampled_from(["name", "version"]), json_scalars, max_size=2)
        | json_values,
        "consent": st.dictionaries(
            st.sampled_from(["analytics", "marketing"]) | hostile_text, json_scalars, max_size=3
        )
        | json_values,
        "ip": json_scalars,
        "locale": json_scalars,
        "traits": json_values,
    },
)
identifiers = st.one_of(
    st.sampled_from(["anon-1", "anon-2", "user-1"]),
    st.sampled_from(["anon-1", "anon-2"]),
    hostile_text,
    st.integers(),
)
timestamps = st.one_of(
    st.none(),
    st.just(NOW.isoformat()),
    st.integers(min_value=-40 * 86_400, max_value=2 * 86_400).map(
        lambda seconds: (NOW + timedelta(seconds=seconds)).isoformat()
    ),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2025-03-14", "x"]),
)


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A Segment message much like a real client's, with hostile values where enrich looks."""
    kind = draw(st.sampled_from(["track", "page", "screen", "identify", "alias", "group"]))
    message: dict[str, Any] = {"type": kind, "anonymousId": draw(identifiers)}
    optional = {
        "userId": identifiers,
        "messageId": identifiers,
        "event": hostile_text | st.sampled_from(["Order Completed", "Booking Confirmed", "Quote Requested"]),
        "name": hostile_text,
        "category": hostile_text,
        "previousId": identifiers,
        "groupId": identifiers,
        "timestamp": timestamps,
        "originalTimestamp": timestamps,
        "sentAt": timestamps,
        "properties": st.one_of(properties, properties, json_objects),
        "traits": st.dictionaries(hostile_text, json_values, max_size=4),
        "context": st.one_of(context, context, json_objects),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            message[key] = draw(strategy)
    # Mostly messages ingest accepts: what enrich gets is what this test is about.
    required = {"track": ("event",), "alias": ("userId", "previousId"), "group": ("groupId",)}
    for key in required.get(kind, ()):
        if key not in message:
            message[key] = draw(optional[key])
    return message


def _ports() -> EnrichPorts:
    counters = MemoryCounters()
    return EnrichPorts(
        MemoryVisitors(counters),
        counters,
        MemoryLake(),
        MemoryPoison(),
        load_journey_rules(None),
        site_hosts=frozenset({"revivatech.co.uk"}),
    )


def _accepted_records(batch: list[dict[str, Any]]) -> tuple[list[StreamRecord], set[str]]:
    """The stream records ingest would have put for `batch`, and the ids of the accepted messages."""
    harness = make_harness()
    body = json.dumps({"batch": batch}, allow_nan=False)
    harness.endpoint.post(
        IngestRequest("POST", "/v1/batch", {"authorization": basic_auth()}, body, source_ip="203.0.113.9")
    )
    accepted = harness.publisher.events
    drafts, failed = build_records(accepted)
    assert not failed, failed
    records = [
        StreamRecord(SHARD, str(100 + position), draft.partition_key, draft.data)
        for position, draft in enumerate(drafts)
    ]
    return records, {event.message_id for event in accepted}


def _poisoned_ids(poison: MemoryPoison) -> set[str]:
    ids = set()
    for item in poison.items:
        assert item.reason
        ids.add(json.loads(item.raw)["message_id"])
    return ids


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(messages(), min_size=1, max_size=6))
def test_every_accepted_event_is_applied_or_rejected_with_a_reason(batch: list[dict[str, Any]]) -> None:
    records, accepted_ids = _accepted_records(batch)
    ports = _ports()
    assert isinstance(ports.lake, MemoryLake) and isinstance(ports.poison, MemoryPoison)

    outcome = process_batch(records, ports)

    assert outcome.failed_sequence_numbers == []
    in_lake = {row.message_id for row in ports.lake.rows}
    rejected = _poisoned_ids(ports.poison)
    assert accepted_ids <= in_lake | rejected
    assert not in_lake & rejected
    assert events_to_arrow(ports.lake.rows).num_rows == len(ports.lake.rows)  # the real lake's columns

    # A redelivery (Lambda's retry of the same batch) applies nothing twice and rejects nothing anew.
    rows, poison_items = len(ports.lake.rows), len(ports.poison.items)
    process_batch(records, ports)
    assert len(ports.lake.rows) == rows
    assert len(ports.poison.items) == poison_items
