"""Property tests: no input, however odd, makes ingest answer 5xx or leak an e-mail address."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviva.topology import INGEST_PATHS
from tests.ingest.harness import make_harness

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=12) | st.just("a@b.example"), children, max_size=6)
    ),
    max_leaves=30,
)
message_keys = st.sampled_from(
    [
        "type",
        "event",
        "anonymousId",
        "userId",
        "previousId",
        "groupId",
        "messageId",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "context",
        "properties",
        "traits",
        "name",
        "category",
        "writeKey",
    ]
)
segment_like = st.dictionaries(
    message_keys,
    json_values
    | st.sampled_from(
        [
            "track",
            "page",
            "identify",
            "alias",
            "group",
            "screen",
            "2025-03-14T12:00:00Z",
            "a@b.example",
            "+351 912 345 678",
        ]
    ),
    max_size=10,
)
bodies = st.one_of(
    json_values,
    segment_like,
    st.builds(
        lambda batch, extra: {"batch": batch, **extra},
        st.lists(segment_like | json_values, max_size=8),
        st.dictionaries(st.sampled_from(["context", "sentAt", "integrations", "writeKey"]), json_values),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(INGEST_PATHS), body=bodies)
def test_arbitrary_json_never_yields_a_5xx(path: str, body: Any) -> None:
    harness = make_harness()
    answer = harness.post(path, json.dumps(body))
    assert answer.status_code < 500, answer.body
    assert answer.status_code in (200, 400, 401, 413)
    for record in harness.publisher.records:
        assert b"a@b.example" not in record and b"912 345 678" not in record


@settings(max_examples=200, deadline=None)
@given(
    path=st.sampled_from(INGEST_PATHS),
    body=st.binary(max_size=200),
    gzip_header=st.booleans(),
    b64=st.booleans(),
)
def test_arbitrary_bytes_never_yield_a_5xx(path: str, body: bytes, gzip_header: bool, b64: bool) -> None:
    harness = make_harness()
    headers = {"content-encoding": "gzip"} if gzip_header else {}
    answer = harness.post(path, body, headers=headers, is_base64=b64)
    assert 400 <= answer.status_code < 500
