"""Consent records parsed from a request body: failing closed, naming the field that is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviva.privacy.consent_records import InvalidConsentRecord, parse_consent_record
from reviva.privacy.pseudonymize import pseudonymize_user_id

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _parse(body: Any) -> Any:
    return parse_consent_record(body, NOW, lambda value: pseudonymize_user_id(value, KEY))


def test_a_decision_is_recorded_with_the_visitor_s_keys_and_a_pseudonym_only() -> None:
    record = _parse(
        {
            "anonymousId": "anon-7",
            "userId": "cust-42",
            "policyVersion": "2026-11",
            "categories": {"analytics": True, "marketing": False, "personalization": True},
            "source": "banner",
            "timestamp": "2026-12-06T09:59:30Z",
        }
    )
    assert record.visitor_key == "a:anon-7"
    assert record.user_pseudonym == pseudonymize_user_id("cust-42", KEY)
    assert (record.granted, record.refused) == (("analytics", "personalization"), ("marketing",))
    assert record.decided_at == datetime(2026, 12, 6, 9, 59, 30, tzinfo=UTC)
    assert record.recorded_at == NOW and record.source == "banner"
    assert "cust-42" not in repr(record)


def test_a_category_not_named_counts_as_refused() -> None:
    record = _parse({"userId": "cust-42", "policyVersion": "v3", "categories": {"analytics": True}})
    assert record.granted == ("analytics",)
    assert record.refused == ("marketing", "personalization")
    assert record.visitor_key == "u:" + pseudonymize_user_id("cust-42", KEY)
    assert record.source == "api"


def test_a_refusal_before_any_id_is_recorded_without_a_key() -> None:
    record = _parse({"policyVersion": "v3", "categories": {"analytics": False}})
    assert record.visitor_key is None and record.granted == ()


def test_a_clock_far_from_the_receipt_is_not_believed() -> None:
    stamped = (NOW - timedelta(days=3)).isoformat()
    record = _parse({"policyVersion": "v3", "categories": {}, "timestamp": stamped})
    assert record.decided_at == NOW


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"categories": {"analytics": True}}, "policyVersion"),
        ({"policyVersion": 3, "categories": {}}, "policyVersion"),
        ({"policyVersion": "v", "categories": ["analytics"]}, "categories"),
        ({"policyVersion": "v", "categories": {"analytics": "yes"}}, "categories.analytics"),
        ({"policyVersion": "v", "categories": {"ads": True}}, "categories"),
        ({"policyVersion": "v", "categories": {}, "anonymousId": "ana@example.com"}, "anonymousId"),
        ({"policyVersion": "v", "categories": {}, "userId": 42}, "userId"),
        ({"policyVersion": "v", "categories": {}, "timestamp": "yesterday"}, "timestamp"),
        ({"policyVersion": "v", "categories": {}, "timestamp": "2026-12-06T10:00:00"}, "timestamp"),
        ({"policyVersion": "v" * 129, "categories": {}}, "policyVersion"),
        ({"policyVersion": "v\ud800", "categories": {}}, "policyVersion"),
    ],
)
def test_a_bad_body_names_its_field(body: Any, field: str) -> None:
    with pytest.raises(InvalidConsentRecord) as raised:
        _parse(body)
    assert raised.value.field == field


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_any_json_is_a_record_or_a_named_refusal(body: Any) -> None:
    try:
        record = _parse(body)
    except InvalidConsentRecord as error:
        assert error.field and error.reason
    else:
        assert set(record.granted) | set(record.refused) == {"analytics", "marketing", "personalization"}
