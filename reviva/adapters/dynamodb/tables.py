"""DynamoDB tables, declared by their pynamodb models.

Keys, indexes and TTL attributes are declared here, in the code that uses them; CDK and the local
runtime both create tables from these models (`TABLE_MODELS`). Table names and the endpoint are
bound at run time by `bind_tables`, never at import time.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from reviva.aws_clients import MAX_POOL_CONNECTIONS
from reviva.settings import Settings


class VisitorItem(Model):
    """One visitor's profile (sk = "PROFILE") or one of its sessions (sk = "SESSION#<session id>").

    A single table keeps a visitor's profile and sessions under one partition so that one query
    reads them back. `reviva.adapters.dynamodb.visitor_repository` describes both items' format and reads and
    writes them with the low-level client (no object mapper on the hot path); every attribute is
    declared here too, so the table's whole shape is in one place.
    """

    class Meta:
        table_name = "reviva-visitors"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    # Names are one letter: every write of an item is billed for them.
    # Optimistic concurrency on the profile: every write is conditional on the version it read.
    profile_version = NumberAttribute(attr_name="v", null=True)
    # Format byte + deflate (preset dictionary) of JSON: on the profile, the state (profile and
    # open session) and the per-shard Kinesis watermarks; on a session, the closed session (sessions
    # are written once, when they close).
    packed = BinaryAttribute(attr_name="s", null=True, legacy_encoding=False)
    # Recently applied messageIds (44-bit digests), for de-duplicating client retries.
    recent = BinaryAttribute(attr_name="r", null=True, legacy_encoding=False)
    # Format 1, still read: sessions kept their fields as JSON in `data`; a profile kept `version`,
    # zlib-compressed JSON `state`, a `watermarks` map and 6-byte digests in `recent_ids` (its next
    # write rewrites it in format 2).
    data = JSONAttribute(null=True)
    version = NumberAttribute(null=True)
    state = BinaryAttribute(null=True, legacy_encoding=False)
    watermarks = MapAttribute(null=True)  # type: ignore[var-annotated]
    recent_ids = BinaryAttribute(null=True, legacy_encoding=False)
    expires_at = TTLAttribute(null=True)


class IdentityLink(Model):
    """An edge between two identity keys ("a:<anonymousId>" or "u:<pseudonym>"), stored both ways."""

    class Meta:
        table_name = "reviva-identities"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    linked_at = UnicodeAttribute()
    via = UnicodeAttribute()  # "identify" or "alias"
    expires_at = TTLAttribute(null=True)


class CounterItem(Model):
    """Live counters: pk = "M#<YYYY-MM-DDTHH>", sk = "<MM>#<shard>"; or the per-shard watermark.

    Per-minute counts are kept per shard so each shard's consumer owns its items, and the
    realtime view sums them. Watermark items use pk = "WATERMARK", sk = the shard id.
    """

    class Meta:
        table_name = "reviva-counters"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    sequence = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class RejectedItem(Model):
    """A rejected message (bad row): pk = "R#<YYYY-MM-DD>", sk = "<ISO time>#<id>"."""

    class Meta:
        table_name = "reviva-rejected"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    stage = UnicodeAttribute()  # "ingest" or "enrich"
    reason = UnicodeAttribute()
    index = NumberAttribute(null=True)  # position in the request's batch
    message_id = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    raw = UnicodeAttribute()  # the payload as received, PII patterns masked, at most 32 KB
    rejected_at = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class ConsentItem(Model):
    """A consent record: pk = the visitor key (or "NOKEY#<day>" for a visitor without one), sk =
    "<recorded_at ISO>#<record id>". Append-only (`reviva.privacy.consent_records`)."""

    class Meta:
        table_name = "reviva-consents"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    record = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


TABLE_MODELS: dict[str, type[Model]] = {
    "visitors": VisitorItem,
    "identities": IdentityLink,
    "counters": CounterItem,
    "rejected": RejectedItem,
    "consents": ConsentItem,
}

TTL_ATTRIBUTE = "expires_at"


def _table_names(settings: Settings) -> dict[str, str]:
    return {
        "visitors": settings.visitors_table,
        "identities": settings.identities_table,
        "counters": settings.counters_table,
        "rejected": settings.rejected_table,
        "consents": settings.consents_table,
    }


def bind_tables(settings: Settings) -> None:
    """Point every model at the configured table names, region and endpoint."""
    for logical, name in _table_names(settings).items():
        model: Any = TABLE_MODELS[logical]
        meta = model.Meta
        bound = (meta.table_name, getattr(meta, "region", None), getattr(meta, "host", None))
        if model._connection is not None and bound == (name, settings.aws_region, settings.aws_endpoint_url):
            # Already bound there: keep the connection (a new one is a new botocore client, which
            # loads the service's model files again; each repository built would otherwise do that).
            continue
        model.Meta.table_name = name
        model.Meta.region = settings.aws_region
        model.Meta.host = settings.aws_endpoint_url
        # Shared by concurrent invocations locally: the same pool size as every other client.
        model.Meta.max_pool_connections = MAX_POOL_CONNECTIONS
        # pynamodb caches a connection per model; drop it so the new endpoint takes effect.
        model._connection = None


def create_tables(settings: Settings) -> None:
    """Create every table (with TTL enabled) if it does not exist: the local runtime and tests."""
    from reviva.aws_clients import client

    bind_tables(settings)
    dynamodb = client("dynamodb", settings)
    for model in TABLE_MODELS.values():
        if not model.exists():
            model.create_table(wait=True)
        dynamodb.update_time_to_live(
            TableName=model.Meta.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
