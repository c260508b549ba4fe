"""Saved funnels: the funnels marketing built in the dashboard, kept so a URL can open them again.

One JSON object (`funnels/saved.json`) in the analytics ObjectStore (`reviva.analytics.ports`),
beside the rollups and the imported spend: at most MAX_SAVED funnels of at most 10 steps, so the
object stays a few tens of KB and one read lists them all. A funnel's definition is exactly the
body `POST /v1/funnels` takes (`steps`, `window_hours`, `breakdown`) plus a name and step labels;
its steps are validated by the funnel use case's own parser, so a saved funnel always runs.

Saves are read-modify-write of that one object: two saves at the same instant can lose one of
them (the ObjectStore port has no conditional put). Saving is a rare, human-paced action.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reviva.analytics.errors import InvalidParameter, UnknownItem
from reviva.analytics.params import parse_choice, parse_int
from reviva.analytics.ports import ObjectStore
from reviva.analytics.store import get_json, put_json

SAVED_FUNNELS_KEY = "funnels/saved.json"
MAX_SAVED = 200
MAX_NAME = 80
MAX_LABEL = 60
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 10


def new_funnel_id(name: str, now: datetime) -> str:
    """A short id for a new funnel (lowercase letters and digits), from its name and save time."""
    digest = int.from_bytes(hashlib.sha256(f"{name}\x00{now.isoformat()}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(ID_LENGTH):
        digest, index = divmod(digest, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[index])
    return "".join(chars)


def parse_funnel_id(raw: object, name: str = "id") -> str:
    """A funnel id as this library makes them; InvalidParameter naming `name` otherwise."""
    if not isinstance(raw, str) or len(raw) != ID_LENGTH or any(c not in _ID_ALPHABET for c in raw):
        raise InvalidParameter(
            name, f"must be a saved funnel's id ({ID_LENGTH} lowercase letters and digits)"
        )
    return raw


def parse_text(body: dict[str, Any], name: str, limit: int) -> str:
    """A required line of text: 1 to `limit` characters once trimmed, no control characters."""
    raw = body.get(name)
    if not isinstance(raw, str) or not 1 <= len(raw.strip()) <= limit:
        raise InvalidParameter(name, f"must be text of 1 to {limit} characters")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in raw):
        raise InvalidParameter(name, "must not hold control characters")
    return raw.strip()


def parse_definition(
    body: Any, validate_steps: Callable[[Any], object], breakdowns: tuple[str, ...]
) -> dict[str, Any]:
    """The definition to store from a save request's body; InvalidParameter names a bad field.

    `validate_steps` is the funnel endpoint's step parser (it raises InvalidParameter naming
    `steps[i]`), so only steps `POST /v1/funnels` accepts are ever saved.
    """
    if not isinstance(body, dict):
        raise InvalidParameter("body", "must be a JSON object with name and steps")
    name = parse_text(body, "name", MAX_NAME)
    steps = body.get("steps")
    validate_steps(steps)
    assert isinstance(steps, list)  # validate_steps accepted it: a list of one-key objects
    labels = body.get("labels", [])
    if not isinstance(labels, list) or len(labels) > len(steps):
        raise InvalidParameter("labels", "must be a list of at most one label per step")
    for index, label in enumerate(labels):
        if not isinstance(label, str) or len(label.strip()) > MAX_LABEL:
            raise InvalidParameter(f"labels[{index}]", f"must be text of at most {MAX_LABEL} characters")
        if any(ord(c) < 32 for c in label):
            raise InvalidParameter(f"labels[{index}]", "must not hold control characters")
    window = parse_int(body, "window_hours", 72, 1, 2160)
    breakdown = body.get("breakdown")
    if breakdown is not None:
        breakdown = parse_choice(body, "breakdown", breakdowns, None)
    return {
        "name": name,
        "steps": [dict(step) for step in steps],
        "labels": [label.strip() for label in labels],
        "window_hours": window,
        "breakdown": breakdown,
    }


class FunnelLibrary:
    """The saved funnels, over the analytics ObjectStore."""

    def __init__(self, store: ObjectStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._clock = clock

    def all(self) -> list[dict[str, Any]]:
        """Every saved funnel, the most recently saved first."""
        funnels = (get_json(self._store, SAVED_FUNNELS_KEY) or {}).get("funnels", [])
        return sorted(funnels, key=lambda f: (f["updated_at"], f["id"]), reverse=True)

    def get(self, funnel_id: str) -> dict[str, Any]:
        """One saved funnel; UnknownItem naming `id` when there is none."""
        for funnel in self.all():
            if funnel["id"] == funnel_id:
                return funnel
        raise UnknownItem("id", f"no saved funnel {funnel_id!r}")

    def save(self, definition: dict[str, Any], funnel_id: str | None = None) -> dict[str, Any]:
        """Store a new funnel (no id) or replace the saved funnel `funnel_id`; return it as stored."""
        now = self._clock()
        stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        funnels = (get_json(self._store, SAVED_FUNNELS_KEY) or {}).get("funnels", [])
        by_id = {f["id"]: f for f in funnels}
        if funnel_id is None:
            if len(funnels) >= MAX_SAVED:
                raise InvalidParameter(
                    "body", f"at most {MAX_SAVED} funnels can be saved: replace one by its id"
                )
            funnel_id = new_funnel_id(definition["name"], now)
            while funnel_id in by_id:  # the same name saved twice in the same microsecond
                funnel_id = new_funnel_id(funnel_id, now)
            created = stamp
        elif funnel_id in by_id:
            created = by_id[funnel_id]["created_at"]
        else:
            raise UnknownItem("id", f"no saved funnel {funnel_id!r} to replace")
        saved = {**definition, "id": funnel_id, "created_at": created, "updated_at": stamp}
        by_id[funnel_id] = saved
        put_json(self._store, SAVED_FUNNELS_KEY, {"funnels": sorted(by_id.values(), key=lambda f: f["id"])})
        return saved
