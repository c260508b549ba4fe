"""The requests a browser running `tracker/` would send for simulated messages.

The tracker's delivery policy lives in `tracker/delivery-policy.json` (the TypeScript build bundles
the same file), so this model and the tracker cannot drift apart. Per device:

- a request goes when `flushAt` messages wait, or when the oldest waiting message is `maxWaitMs`
  old (a timer armed from the oldest message);
- leaving a page sends what waits (a beacon), except when `carryAcrossPages` is on, the browser
  has analytics consent (the queue lives in first-party storage) and the next page is on the same
  site (a same-origin navigation): then the next page sends it, by the same rules;
- the last page of a visit is left right after its last message (the tab is closed);
- a request carries at most `maxBatch` messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reviva.simulate.personas import SITE_ORIGIN

POLICY_FILE = Path(__file__).resolve().parent.parent / "tracker" / "delivery-policy.json"
# A device idle this long has left the site (the tracker's 30-minute session timeout).
VISIT_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class DeliveryPolicy:
    """The tracker's batching rules (see the module docstring)."""

    flush_at: int
    max_wait: timedelta
    carry_across_pages: bool
    max_batch: int

    @classmethod
    def load(cls, path: Path = POLICY_FILE) -> DeliveryPolicy:
        """The policy the tracker is built with."""
        data = json.loads(path.read_text())
        return cls(
            flush_at=int(data["flushAt"]),
            max_wait=timedelta(milliseconds=int(data["maxWaitMs"])),
            carry_across_pages=bool(data["carryAcrossPages"]),
            max_batch=int(data["maxBatch"]),
        )


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
        if self.waiting:
            due = message_time(self.waiting[0]) + self.policy.max_wait
            if due <= at:
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
                    queue.send(previous or at)  # the beacon as the previous page was left
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
