"""The set of messages in the lake and counters that no profile holds yet."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from reviva.enrich import unapplied as unapplied_module
from reviva.enrich.unapplied import KEEP_DAYS, UnappliedMessages, message_key

TODAY = date(2026, 12, 6)


def test_a_message_is_remembered_per_visitor() -> None:
    messages = UnappliedMessages()
    messages.add([(message_key("a:v1", "m-1"), True)], TODAY)
    assert message_key("a:v1", "m-1") in messages
    # The same messageId from another visitor is another message.
    assert message_key("a:v2", "m-1") not in messages
    assert messages.changed


def test_the_packed_form_round_trips_with_days_and_order() -> None:
    messages = UnappliedMessages()
    messages.add([(message_key("a:v1", f"m-{i}"), i % 2 == 0) for i in range(5)], TODAY - timedelta(days=3))
    messages.add([(message_key("a:v2", "m-9"), False)], TODAY)
    again = UnappliedMessages(messages.pack())
    assert again.pack() == messages.pack()
    assert len(again) == 6
    assert not again.changed
    assert message_key("a:v2", "m-9") in again
    assert [again.is_counted(message_key("a:v1", f"m-{i}")) for i in range(5)] == [
        True,
        False,
        True,
        False,
        True,
    ]
    assert not again.is_counted(message_key("a:v2", "m-9"))


def test_a_counted_message_stays_counted() -> None:
    messages = UnappliedMessages()
    key = message_key("a:v1", "m-1")
    messages.add([(key, False)], TODAY)
    assert key in messages and not messages.is_counted(key)
    messages.add([(key, True)], TODAY)
    messages.add([(key, False)], TODAY + timedelta(days=1))
    assert messages.is_counted(key)


def test_discarding_what_a_profile_now_holds() -> None:
    messages = UnappliedMessages()
    messages.add([(message_key("a:v1", "m-1"), True), (message_key("a:v1", "m-2"), True)], TODAY)
    stored = UnappliedMessages(messages.pack())
    stored.discard([message_key("a:v1", "m-1"), message_key("a:v1", "never-there")])
    assert stored.changed
    assert message_key("a:v1", "m-1") not in stored
    assert message_key("a:v1", "m-2") in stored
    unchanged = UnappliedMessages(messages.pack())
    unchanged.discard([message_key("a:v9", "m-1")])
    assert not unchanged.changed


def test_entries_are_forgotten_once_no_resend_can_arrive() -> None:
    messages = UnappliedMessages()
    messages.add([(message_key("a:v1", "old"), True)], TODAY - timedelta(days=KEEP_DAYS + 1))
    messages.add([(message_key("a:v1", "edge"), False)], TODAY - timedelta(days=KEEP_DAYS))
    stored = UnappliedMessages(messages.pack())
    stored.forget_before(TODAY)
    assert message_key("a:v1", "old") not in stored
    assert message_key("a:v1", "edge") in stored
    assert stored.changed


def test_the_set_is_capped_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unapplied_module, "MAX_ENTRIES", 3)
    messages = UnappliedMessages()
    messages.add([(message_key("a:v1", f"m-{i}"), True) for i in range(5)], TODAY)
    assert len(messages) == 3
    assert message_key("a:v1", "m-0") not in messages
    assert message_key("a:v1", "m-4") in messages


def test_a_torn_tail_is_ignored() -> None:
    messages = UnappliedMessages()
    messages.add([(message_key("a:v1", "m-1"), True)], TODAY)
    assert len(UnappliedMessages(messages.pack() + b"\x01\x02")) == 1
