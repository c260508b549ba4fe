"""The requests a browser running `tracker/` would send for simulated messages.

The tracker's delivery policy lives in `tracker/delivery-policy.json` (the TypeScript build bundles
the same file), so this model and the tracker cannot drift apart. Per device:

- a request goes when `flushAt` messages wait, or when its timer is due: at the earlier of the
  oldest waiting *urgent* message being `maxWaitMs` old and the oldest waiting message of any kind
  being `backgroundMaxWaitMs` old. Background messages are the track events `backgroundEvents` names
  (the autocapture noise: performance, vitals, scroll depth, tracked-element clicks, field focus,
  rage clicks, exit intent); page, identify, alias, group and every other track event are urgent.
  So background messages alone wait up to `backgroundMaxWaitMs`, and an urgent message takes the
  whole queue within `maxWaitMs`. A `backgroundMaxWaitMs` at or below `maxWaitMs` makes every
  message urgent;
- leaving a page sends what waits (a beacon), except when `carryAcrossPages` is on, the browser
  has analytics consent (the queue lives in first-party storage) and the next page is on the same
  site (a same-origin navigation): then the next page sends it, by the same rules;
- the last page of a visit is left right after its last message (the tab is closed);
- "Session Started" is sent by the page load that opens the session, just before its page view
  (same timestamp), so it waits with that page's messages, never in the previous page's beacon;
- a request carries at most `maxBatch` messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reviva_dev.simulate.personas import SITE_ORIGIN

# Read from the repository (the tracker is not a Python package): bench and cost run from a checkout.
POLICY_FILE = Path(__file__).resolve().parents[2] / "tracker" / "delivery-policy.json"
# A device idle this long has left the site (the tracker's 30-minute session timeout).
VISIT_GAP = timedelta(minutes=30)
SESSION_STARTED = "Session Started"


@dataclass(frozen=True)
class DeliveryPolicy:
    """The tracker's batching rules (see the module docstring).

    The background fields default to "every message is urgent" (the rule before they existed), so a
    policy built by hand for a test or a what-if keeps its meaning.
    """

    flush_at: int
    max_wait: timedelta
    carry_across_pages: bool
    max_batch: int
    background_max_wait: timedelta = timedelta(0)
    background_events: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path = POLICY_FILE) -> DeliveryPolicy:
        """The policy the tracker is built with."""
        data = json.loads(path.read_text())
        return cls(
            flush_at=int(data["flushAt"]),
            max_wait=timedelta(milliseconds=int(data["maxWaitMs"])),
            carry_across_pages=bool(data["carryAcrossPages"]),
            max_batch=int(data["maxBatch"]),
            background_max_wait=timedelta(milliseconds=int(data["backgroundMaxWaitMs"])),
            background_events=frozenset(str(name) for name in data["backgroundEvents"]),
        )

    def is_background(self, message: dict[str, Any]) -> bool:
        """A track event the tracker may hold for `backgroundMaxWaitMs` (autocapture noise)."""
        return message.get("type") == "track" and message.get("event") in self.background_events

    def due(self, waiting: Sequence[dict[str, Any]]) -> datetime | None:
        """When the tracker's timer sends `waiting` (oldest first), as `Delivery.arm` computes it."""
        if not waiting:
            return None
        # Never below max_wait: a background message is never more pressing than an urgent one.
        background_wait = max(self.max_wait, self.background_max_wait)
        due = message_time(waiting[0]) + background_wait
        urgent = next((m for m in waiting if not self.is_background(m)), None)
        if urgent is not None:
            due = min(due, message_time(urgent) + self.max_wait)
        return due


@dataclass
class ClientRequest:
    """One POST /v1/batch a browser would send: its messages and when it was sent."""

    visitor: str
    sent_at: datetime
    messages: list[dict[str, Any]] = field(default_factory=list)


def message_time(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(message["timestamp"]).replace("Z", "+00:00"))


def _device(message: dict[str, Any]) -> str:
    return str(message.get("anonymousId") or message.get("userId") or "")


def _stores_queue(message: dict[str, Any]) -> bool:
    consent = (message.get("context") or {}).get("consent") or {}
    return bool(consent.get("analytics"))


def _same_site_navigation(message: dict[str, Any]) -> bool:
    """A page view reached from one of the site's own pages (the tracker saw the link click)."""
    if message.get("type") != "page":
        return False
    context_page = (message.get("context") or {}).get("page") or {}
    referrer = str((message.get("properties") or {}).get("referrer") or context_page.get("referrer") or "")
    return referrer.startswith(SITE_ORIGIN)


def _opened_by(page: dict[str, Any], waiting: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The waiting messages the page load of `page` sent before its page view ("Session Started")."""
    at = message_time(page)
    start = len(waiting)
    while (
        start > 0
        and waiting[start - 1].get("event") == SESSION_STARTED
        and message_time(waiting[start - 1]) == at
    ):
        start -= 1
    return waiting[start:]


def _latest(messages: list[dict[str, Any]]) -> datetime:
    return max(message_time(m) for m in messages)


class _DeviceQueue:
    def __init__(self, visitor: str, policy: DeliveryPolicy, out: list[ClientRequest]) -> None:
        self.visitor = visitor
        self.policy = policy
        self.out = out
        self.waiting: list[dict[str, Any]] = []

    def send(self, at: datetime) -> None:
        for start in range(0, len(self.waiting), self.policy.max_batch):
            chunk = self.waiting[start : start + self.policy.max_batch]
            self.out.append(ClientRequest(self.visitor, at, chunk))
        self.waiting = []

    def fire_timer_before(self, at: datetime) -> None:
        """Send the queue if the tracker's timer (see `DeliveryPolicy.due`) fires by `at`."""
        due = self.policy.due(self.waiting)
        if due is not None and due <= at:
            self.send(due)


def tracker_requests(
    messages: Sequence[dict[str, Any]], policy: DeliveryPolicy | None = None
) -> list[ClientRequest]:
    """Group each device's messages into the requests its tracker would send, in send order."""
    policy = policy or DeliveryPolicy.load()
    by_device: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        by_device.setdefault(_device(message), []).append(message)
    done: list[ClientRequest] = []
    for visitor, device_messages in by_device.items():
        queue = _DeviceQueue(visitor, policy, done)
        previous: datetime | None = None
        for message in sorted(device_messages, key=message_time):
            at = message_time(message)
            if previous is not None and at - previous > VISIT_GAP and queue.waiting:
                # The visit ended: its last page was closed right after its last message.
                queue.fire_timer_before(previous)
                if queue.waiting:
                    queue.send(previous)
            queue.fire_timer_before(at)
            if message.get("type") == "page" and queue.waiting:
                carried = (
                    policy.carry_across_pages and _stores_queue(message) and _same_site_navigation(message)
                )
                if not carried:
                    this_page = _opened_by(message, queue.waiting)
                    left = queue.waiting[: len(queue.waiting) - len(this_page)]
                    if left:
                        queue.waiting = left
                        queue.send(_latest(left))  # the beacon as the previous page was left
                    queue.waiting = this_page
            queue.waiting.append(message)
            if len(queue.waiting) >= policy.flush_at:
                queue.send(at)
            previous = at
        if queue.waiting and previous is not None:
            queue.fire_timer_before(previous)
            if queue.waiting:
                queue.send(previous)
    done.sort(key=lambda request: request.sent_at)
    return done
