"""Profiles, sessions and identity links in DynamoDB (the enrich stage's `VisitorRepository`).

Cost shapes this adapter: every batch rewrites each active visitor's profile item, billed 1 WRU per
KB of the larger of the old and the new item (attribute names count). So the profile item is kept
under 1 KB for a typical visitor and written with one conditional `PutItem`, never a transaction
(which bills twice). A session gets an item of its own once, when it closes; identity links when
they appear.

The profile item (format 2; like the session and link items, built and read here with the low-level
client, no object mapper on the hot path):

| attribute | type | holds |
|---|---|---|
| `pk`, `sk` | S | the visitor key; `PROFILE` |
| `v` | N | the version; every write is conditional on the version it read |
| `s` | B | `PACKED_FORMAT_V1`, then the packed JSON `{"state": …, "watermarks": …}` |
| `r` | B | the recent messageIds' digests (`reviva.enrich.dedupe`); absent while empty |
| `expires_at` | N | the TTL (last seen + 3 years) |

Packed JSON is compact JSON compressed with raw deflate from the preset dictionary `_DICTIONARY_V1`
(a typical profile's 2-3.5 KB of JSON packs to 300-550 bytes). `state` is the visitor's state
(profile and open session) without the defaults and without the fields the item derives exactly
(`_derived_profile_fields`: the fingerprint and anonymous id come from the key, `last_updated` is
`last_seen_at`, the ratios come from their sums); a field whose value differs from its derivation
is stored explicitly. `watermarks` is the per-shard Kinesis watermark (inside the compressed
payload, a 56-digit sequence number costs ~25 bytes instead of ~80 as a map attribute).

A closed session's item holds the session the same way: `s` = the packed JSON of the session
(touchpoints included), so a typical session is one write unit too.

Items written before (format 1: `version`, `state` = zlib JSON, `watermarks` map, `recent_ids` of
6-byte digests; or older, JSON in `data`; sessions as JSON in `data`) are still read, and a profile
is rewritten in format 2 by its next write. The write's condition accepts either version attribute,
so it holds across the switch. Code from before format 2 cannot read format 2: do not roll back past
it once it has written.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import ClientError

from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository, is_condition_failure
from reviva.adapters.dynamodb.tables import TTL_ATTRIBUTE, IdentityLink, bind_tables
from reviva.aws_clients import client
from reviva.contracts.visitor_key import EMAIL_LINK_PREFIX, VisitorKey, VisitorKind, email_link_key
from reviva.enrich.dedupe import from_legacy
from reviva.enrich.ports import ConcurrentUpdate, CountersMoved, StoredVisitor, VisitorCommit
from reviva.enrich.visitor_state import Profile, SessionState, VisitorState
from reviva.query.ports import LinkedKeys
from reviva.settings import Settings

PROFILE_SK = "PROFILE"
SESSION_PREFIX = "SESSION#"
# The source plan's retention table: profiles 3 years, analytics events (and so sessions) 2 years.
PROFILE_RETENTION = timedelta(days=3 * 365)
SESSION_RETENTION = timedelta(days=2 * 365)
MAX_LINKED_KEYS = 50
BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem request
BATCH_WRITE_ITEMS = 25  # and per BatchWriteItem request
UNPROCESSED_RETRIES = 8

# Attribute names of the profile item: short, because every name is billed on every write.
VERSION_ATTRIBUTE: Final = "v"
PACKED_ATTRIBUTE: Final = "s"
RECENT_ATTRIBUTE: Final = "r"
# Digests of recent large deliveries (records of more than 32 events); absent for most visitors.
DELIVERIES_ATTRIBUTE: Final = "d"
# Format 1's names, read (and matched by the write condition) until every item is rewritten.
LEGACY_VERSION_ATTRIBUTE: Final = "version"
LEGACY_STATE_ATTRIBUTE: Final = "state"
LEGACY_DATA_ATTRIBUTE: Final = "data"
LEGACY_WATERMARKS_ATTRIBUTE: Final = "watermarks"
LEGACY_RECENT_ATTRIBUTE: Final = "recent_ids"

PACKED_FORMAT_V1: Final = 1
COMPRESSION_LEVEL: Final = 9  # on payloads under 4 KB level 9 costs no more CPU than 6 and is smaller
MAX_PACKED_JSON_BYTES: Final = 4 * 1024 * 1024  # an item is at most 400 KB; refuse anything inflating beyond

# The preset dictionary of PACKED_FORMAT_V1: deflate starts with these bytes as history, so the JSON
# keys and the vocabulary of our own code (field names, channels, journey touchpoints and stages,
# the tracker's automatic events, device types) cost a short back-reference instead of their
# letters, which halves a typical payload. Rarer strings come first: deflate reaches the end more
# cheaply. NEVER EDIT: items written with it must stay readable (a test pins its hash); a better
# dictionary (say, once "2026-" no longer prefixes most timestamps) is a new format byte beside it.
_DICTIONARY_V1: Final = "".join(
    (
        '"utm_source":"newsletter","utm_medium":"email","utm_campaign":"spring-sale"',
        '"channel":"paid_social","referrer_host":"facebook.com","campaign_key":"paid_social:',
        '"channel":"display","channel":"social","channel":"email","customer_segment":"',
        '"browser":"Firefox","os":"Linux","browser":"Edge","browser":"Samsung Internet","os":"Chrome OS"',
        '"browser":"Safari","os":"Mac OS X","browser":"Chrome","os":"Windows","device_type":"other"',
        '"event_name":"Service Compared","touchpoint":"service_compare","journey_stage":"consideration"',
        '"event_name":"Contact Info Viewed","touchpoint":"contact_info_view","journey_stage":"decision"',
        '"event_name":"Booking Submitted","touchpoint":"booking_submitted","journey_stage":"decision"',
        '"conversion_event":true,"page_path":"/book/confirm"',
        '"event_name":"Booking Started","touchpoint":"booking_start","journey_stage":"decision"',
        '"event_name":"Pricing Viewed","touchpoint":"pricing_check","journey_stage":"consideration"',
        '"touchpoint":"contact_page","journey_stage":"decision","page_path":"/contact"',
        '"touchpoint":"home_page","journey_stage":"awareness","page_path":"/"',
        '"watermarks":{"shardId-000000000000":"4959',
        '{"state":{"profile":{"fingerprint":"a:","anonymous_id":"","user_id":"u_","first_seen_at":"2026-',
        '","last_seen_at":"2026-","total_sessions":1,"total_page_views":1,"total_events":1,',
        '"total_time_spent":1,"avg_session_duration":0.0,"pages_per_session":0.0,"bounce_rate":0.0,',
        '"bounced_sessions":1,"conversion_score":0.0,"lead_score":0,"customer_segment":"",',
        '"device_types":["desktop","mobile","tablet"],"preferred_services":["',
        '-screen-repair","',
        '-battery-replacement","',
        '-repair","',
        '"referrer_sources":["direct","google.com","google.co.uk","bing.com","duckduckgo.com"],',
        '"behavioral_traits":{"session_started":1,"page_performance":1,"web_vitals":1,',
        '"scroll_depth_reached":1,"exit_intent":1,"rage_click":1,"cta_clicked":1,"element_clicked":1,',
        '"consent_updated":1,"form_field_focused":1,"form_submitted":1,"pricing_viewed":1,',
        '"service_compared":1,"contact_info_viewed":1,"booking_started":1,"booking_submitted":1},',
        '"service_interest":{"":1},"journey_stage":"retention","conversions":1,"total_revenue":1.0,',
        '"first_channel":"organic_search","last_channel":"paid_search","countries":["GB","US"],',
        '"traits":{"email":"h_","phone":"h_","name":"","marketing_opt_in":true},"last_updated":"2026-"},',
        '"current_session":{"session_id":"s_","started_at":"2026-","ended_at":"2026-",',
        '"page_views":1,"events":1,"entry_page":"/","exit_page":"/book","channel":"referral",',
        '"referrer_host":"www.","campaign_key":"organic_search:google.com","utm_source":"google",',
        '"utm_medium":"cpc","utm_campaign":"","device_type":"mobile","browser":"Chrome Mobile",',
        '"os":"Android","browser":"Mobile Safari","os":"iOS","country":"GB","converted":true,"revenue":1.0,',
        '"touchpoints":[{"sequence_number":1,"touchpoint":"landing_page","journey_stage":"awareness",',
        '"created_at":"2026-","time_spent":1,"page_path":"/pricing","message_id":""},',
        '{"sequence_number":2,"touchpoint":"service_browse","journey_stage":"awareness",',
        '"created_at":"2026-","time_spent":1,"page_path":"/services/","message_id":""},',
        '{"sequence_number":3,"touchpoint":"pricing_check","journey_stage":"consideration",',
        '"created_at":"2026-","time_spent":1,"page_path":"/pricing/","message_id":""},',
        '{"sequence_number":4,"touchpoint":"booking_page","journey_stage":"decision",',
        '"created_at":"2026-","page_path":"/book","event_name":"","message_id":""}]},',
        '"next_sequence_number":1}}',
    )
).encode()

_DERIVED_PROFILE_FIELDS: Final = frozenset(
    {
        "fingerprint",
        "anonymous_id",
        "last_updated",
        "avg_session_duration",
        "pages_per_session",
        "bounce_rate",
    }
)


def session_sk(session_id: str) -> str:
    """The sort key of a session item."""
    return f"{SESSION_PREFIX}{session_id}"


def _derived_profile_fields(visitor_key: str, profile: Profile) -> dict[str, Any]:
    """What each field in `_DERIVED_PROFILE_FIELDS` is when it follows from the rest of the item.

    The visitor key is "a:<anonymousId>" for every event that has an anonymous id and "u:<user>"
    otherwise (ingest), so the profile's anonymous id is the key's; enrich sets `last_updated` to
    `last_seen_at` and the ratios from their sums on every event.
    """
    key = VisitorKey.parse(visitor_key)
    return {
        "fingerprint": visitor_key,
        "anonymous_id": key.id if key.kind is VisitorKind.ANONYMOUS else None,
        "last_updated": profile.last_seen_at,
        **profile.derived_ratios(),
    }


def _deflate(raw: bytes) -> bytes:
    packer = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=_DICTIONARY_V1)
    return packer.compress(raw) + packer.flush()


def _inflate(data: bytes) -> bytes:
    unpacker = zlib.decompressobj(-zlib.MAX_WBITS, zdict=_DICTIONARY_V1)
    raw = unpacker.decompress(data, MAX_PACKED_JSON_BYTES)
    if not unpacker.eof or unpacker.unconsumed_tail:
        raise ValueError("packed JSON that is truncated or inflates beyond its limit")
    return raw


def _pack_json(document: dict[str, Any]) -> bytes:
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return bytes((PACKED_FORMAT_V1,)) + _deflate(payload)


def _unpack_json(packed: bytes) -> dict[str, Any]:
    if not packed or packed[0] != PACKED_FORMAT_V1:
        raise ValueError(f"unknown packed format {packed[:1]!r}")
    document = json.loads(_inflate(packed[1:]))
    if not isinstance(document, dict):
        raise ValueError("a packed document is a JSON object")
    return document


def pack_session(session: SessionState) -> bytes:
    """A closed session item's `s` attribute: format byte, then the compressed session (defaults left out)."""
    return _pack_json(session.model_dump(mode="json", exclude_defaults=True))


def _session_from_item(item: Mapping[str, Any]) -> SessionState:
    """A session item in either form: packed in `s`, or (written before) JSON in `data`."""
    if PACKED_ATTRIBUTE in item:
        return SessionState.model_validate(_unpack_json(item[PACKED_ATTRIBUTE]["B"]))
    return SessionState.model_validate_json(item.get(LEGACY_DATA_ATTRIBUTE, {}).get("S") or "{}")


def pack_profile(visitor_key: str, state: VisitorState, watermarks: Mapping[str, str]) -> bytes:
    """The profile item's `s` attribute: format byte, then the compressed state and watermarks."""
    profile = state.profile
    document = state.model_dump(
        mode="json",
        exclude={"closed_sessions": True, "profile": set(_DERIVED_PROFILE_FIELDS)},
        exclude_defaults=True,
    )
    derived = _derived_profile_fields(visitor_key, profile)
    explicit = {name for name, value in derived.items() if getattr(profile, name) != value}
    if explicit:
        # Kept as stored, None included: on read, an absent field means "as derived".
        document.setdefault("profile", {}).update(profile.model_dump(mode="json", include=explicit))
    return _pack_json({"state": document, "watermarks": dict(watermarks)})


def unpack_profile(visitor_key: str, packed: bytes) -> tuple[VisitorState, dict[str, str]]:
    """The state and watermarks `pack_profile` packed, every derived field restored."""
    document = _unpack_json(packed)
    stored = document.get("state") or {}
    fields = stored.setdefault("profile", {})
    absent = _DERIVED_PROFILE_FIELDS - fields.keys()
    fields.setdefault("fingerprint", visitor_key)
    state = VisitorState.model_validate(stored)
    derived = _derived_profile_fields(visitor_key, state.profile)
    for name in absent - {"fingerprint"}:
        setattr(state.profile, name, derived[name])
    watermarks = {str(shard): str(mark) for shard, mark in (document.get("watermarks") or {}).items()}
    return state, watermarks


def _expires_at(moment: datetime) -> dict[str, str]:
    return {"N": str(int(moment.timestamp()))}


def _profile_item(commit: VisitorCommit) -> dict[str, Any]:
    """The profile item in DynamoDB's wire format (format 2)."""
    last_seen = commit.state.profile.last_seen_at or datetime.now(UTC)
    item: dict[str, Any] = {
        "pk": {"S": commit.visitor_key},
        "sk": {"S": PROFILE_SK},
        VERSION_ATTRIBUTE: {"N": str(commit.expected_version + 1)},
        PACKED_ATTRIBUTE: {"B": pack_profile(commit.visitor_key, commit.state, commit.watermarks)},
        TTL_ATTRIBUTE: _expires_at(last_seen + PROFILE_RETENTION),
    }
    if commit.recent_ids:
        item[RECENT_ATTRIBUTE] = {"B": commit.recent_ids}
    if commit.recent_deliveries:
        item[DELIVERIES_ATTRIBUTE] = {"B": commit.recent_deliveries}
    return item


def _legacy_watermarks(item: Mapping[str, Any]) -> dict[str, str]:
    stored = item.get(LEGACY_WATERMARKS_ATTRIBUTE, {}).get("M", {})
    return {str(shard): str(next(iter(value.values()))) for shard, value in stored.items()}


def stored_visitor(item: Mapping[str, Any]) -> StoredVisitor:
    """A profile item in DynamoDB's wire format as the enrich stage reads it, in either format."""
    visitor_key = item["pk"]["S"]
    if PACKED_ATTRIBUTE in item:
        state, watermarks = unpack_profile(visitor_key, item[PACKED_ATTRIBUTE]["B"])
        recent = item.get(RECENT_ATTRIBUTE, {}).get("B")
        deliveries = item.get(DELIVERIES_ATTRIBUTE, {}).get("B")
        return StoredVisitor(
            state, int(item[VERSION_ATTRIBUTE]["N"]), watermarks, recent or None, deliveries or None
        )
    if LEGACY_STATE_ATTRIBUTE in item:
        state = VisitorState.model_validate_json(zlib.decompress(item[LEGACY_STATE_ATTRIBUTE]["B"]))
    else:  # the oldest items kept the state as JSON in `data`
        state = VisitorState.model_validate_json(item.get(LEGACY_DATA_ATTRIBUTE, {}).get("S") or "{}")
    legacy_recent = item.get(LEGACY_RECENT_ATTRIBUTE, {}).get("B")
    return StoredVisitor(
        state,
        int(item.get(LEGACY_VERSION_ATTRIBUTE, {}).get("N", "0")),
        _legacy_watermarks(item),
        from_legacy(legacy_recent) or None,
    )


def _session_item(visitor_key: str, session: SessionState) -> dict[str, Any]:
    """A closed session's item in DynamoDB's wire format."""
    return {
        "pk": {"S": visitor_key},
        "sk": {"S": session_sk(session.session_id)},
        PACKED_ATTRIBUTE: {"B": pack_session(session)},
        TTL_ATTRIBUTE: _expires_at(session.ended_at + SESSION_RETENTION),
    }


def _link_items(links: Iterable[tuple[str, str, str]], at: str) -> list[dict[str, Any]]:
    """Identity links in DynamoDB's wire format (`IdentityLink`), both directions, each once."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for left, right, via in links:
        if left == right:
            continue
        for a, b in ((left, right), (right, left)):
            items[(a, b)] = {"pk": {"S": a}, "sk": {"S": b}, "linked_at": {"S": at}, "via": {"S": via}}
    return list(items.values())


def _backoff(attempt: int) -> float:
    """Seconds to wait before retrying what a throttled batch request left unprocessed."""
    return float(min(1.0, 0.05 * 2**attempt))


def _version_condition(expected_version: int) -> dict[str, Any]:
    if not expected_version:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    # An item still in format 1 keeps its version in `version`; the write replaces it with `v`.
    return {
        "ConditionExpression": "#v = :expected OR #legacy = :expected",
        "ExpressionAttributeNames": {"#v": VERSION_ATTRIBUTE, "#legacy": LEGACY_VERSION_ATTRIBUTE},
        "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
    }


class DynamoVisitorRepository:
    """Reads and writes visitor items: one conditional profile write per visitor per batch.

    The batch's first visitor may carry the live counters: that one write is a transaction.
    """

    def __init__(self, settings: Settings, counters: DynamoCounterRepository | None = None) -> None:
        bind_tables(settings)
        self._dynamodb = client("dynamodb", settings)
        self._visitors_table = settings.visitors_table
        self._identities_table = settings.identities_table
        self._counters = counters

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        """Profiles of the given keys (BatchGetItem, 100 keys a request, unprocessed keys retried)."""
        keys = list(dict.fromkeys(visitor_keys))
        found: dict[str, StoredVisitor] = {}
        for start in range(0, len(keys), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self._visitors_table: {
                    "Keys": [
                        {"pk": {"S": key}, "sk": {"S": PROFILE_SK}}
                        for key in keys[start : start + BATCH_GET_KEYS]
                    ]
                }
            }
            for attempt in range(UNPROCESSED_RETRIES + 1):
                response = self._dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._visitors_table, []):
                    found[item["pk"]["S"]] = stored_visitor(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt == UNPROCESSED_RETRIES:
                    raise RuntimeError("DynamoDB left profile reads unprocessed; retry the batch")
                time.sleep(_backoff(attempt))
        return found

    def _write_all(self, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Put `(table, item)` pairs unconditionally (BatchWriteItem, 25 a request, unprocessed retried)."""
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            request: dict[str, Any] = {}
            for table, item in items[start : start + BATCH_WRITE_ITEMS]:
                request.setdefault(table, []).append({"PutRequest": {"Item": item}})
            for attempt in range(UNPROCESSED_RETRIES + 1):
                request = self._dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
                if attempt == UNPROCESSED_RETRIES:
                    raise RuntimeError("DynamoDB left session or link writes unprocessed; retry the batch")
                time.sleep(_backoff(attempt))

    def commit(self, commit: VisitorCommit) -> None:
        """Closed sessions and new links first (idempotent), then the profile, conditionally."""
        at = (commit.state.profile.last_seen_at or datetime.now(UTC)).isoformat()
        # Closed sessions and identity links go in one request (BatchWriteItem spans tables).
        self._write_all(
            [(self._visitors_table, _session_item(commit.visitor_key, s)) for s in commit.sessions]
            + [(self._identities_table, link) for link in _link_items(commit.identity_links, at)]
        )
        profile: dict[str, Any] = {
            "TableName": self._visitors_table,
            "Item": _profile_item(commit),
            **_version_condition(commit.expected_version),
        }
        if commit.counters is None:
            try:
                self._dynamodb.put_item(**profile)
            except ClientError as exc:
                if is_condition_failure(exc):
                    raise ConcurrentUpdate(commit.visitor_key) from exc
                raise
            return
        if self._counters is None:
            raise ValueError("this repository was built without the counters table")
        counter_items = self._counters.transaction_items(commit.counters)
        try:
            self._dynamodb.transact_write_items(TransactItems=[{"Put": profile}, *counter_items])
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[1:]):
                raise CountersMoved(commit.visitor_key) from exc
            raise ConcurrentUpdate(commit.visitor_key) from exc

    def read_visitor(self, visitor_key: str) -> tuple[StoredVisitor | None, list[SessionState]]:
        """A visitor's profile and all its sessions, the open one included (one Query, paginated)."""
        stored: StoredVisitor | None = None
        sessions: dict[str, SessionState] = {}
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self._visitors_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": visitor_key}},
        )
        for page in pages:
            for item in page.get("Items", []):
                sort_key = item["sk"]["S"]
                if sort_key == PROFILE_SK:
                    stored = stored_visitor(item)
                elif sort_key.startswith(SESSION_PREFIX):
                    session = _session_from_item(item)
                    sessions[session.session_id] = session
        if stored is not None and stored.state.current_session is not None:
            sessions[stored.state.current_session.session_id] = stored.state.current_session
        return stored, sorted(sessions.values(), key=lambda s: s.started_at)

    def linked_keys(self, start_keys: Iterable[str]) -> LinkedKeys:
        """Every identity key connected to `start_keys` through identify/alias links (bounded)."""
        seen: list[str] = []
        linked: set[str] = set()
        frontier = list(dict.fromkeys(start_keys))
        while frontier and len(seen) < MAX_LINKED_KEYS:
            key = frontier.pop(0)
            if key in seen:
                continue
            seen.append(key)
            for link in IdentityLink.query(key):
                if link.sk.startswith(EMAIL_LINK_PREFIX):
                    continue  # a search key, not one of the person's identities
                linked.update((key, link.sk))
                if link.sk not in seen:
                    frontier.append(link.sk)
        return LinkedKeys(seen, linked)

    def keys_for_email(self, email_pseudonym: str) -> list[str]:
        """The visitor keys linked to `e:<pseudonym>` (one Query on the identities table)."""
        found = IdentityLink.query(email_link_key(email_pseudonym), limit=MAX_LINKED_KEYS)
        return [link.sk for link in found][:MAX_LINKED_KEYS]
