"""The composition root: builds each function's adapters from settings, once per container.

Handlers call these on each invocation; the first call reads the environment and builds clients,
later calls reuse them. Domain code never calls this module: it receives the adapters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts
from reviva.ingest.rejected import RejectedRepository
from reviva.lake.catalog import ensure_events_table, load_lake_catalog
from reviva.lake.writer import LakeWriter
from reviva.privacy.pseudonymize import pseudonymize_user_id
from reviva.settings import Settings, load_settings
from reviva.storage.counter_repository import DynamoCounterRepository
from reviva.storage.poison_sink import RejectedPoisonSink
from reviva.storage.tables import bind_tables
from reviva.storage.visitor_repository import DynamoVisitorRepository

_lock = threading.Lock()
_built: dict[str, object] = {}


def _cached(name: str, settings: Settings, build):  # type: ignore[no-untyped-def]
    """Build once per (function, settings); the local runtime resets settings between runs."""
    key = f"{name}:{id(settings)}"
    with _lock:
        if key not in _built:
            _built[key] = build(settings)
        return _built[key]


def lake_writer(settings: Settings) -> LakeWriter:
    """The events table writer (the table is loaded on first use, not here)."""

    def load_table():  # type: ignore[no-untyped-def]
        return ensure_events_table(load_lake_catalog(settings), settings)

    return LakeWriter(load_table)


def _build_enrich(settings: Settings) -> EnrichPorts:
    bind_tables(settings)
    return EnrichPorts(
        visitors=DynamoVisitorRepository(settings),
        counters=DynamoCounterRepository(settings),
        lake=lake_writer(settings),
        poison=RejectedPoisonSink(RejectedRepository(settings.hmac_key())),
        rules=load_journey_rules(settings.journey_rules_path),
    )


def enrich_ports() -> EnrichPorts:
    """The enrich function's adapters."""
    settings = load_settings()
    ports: EnrichPorts = _cached("enrich", settings, _build_enrich)
    return ports


@dataclass
class QueryAdaptersImpl:
    """The query function's readers."""

    admin_token: str
    visitors: DynamoVisitorRepository
    counters: DynamoCounterRepository
    rejected: RejectedRepository
    hmac_key: bytes

    def pseudonymize_user_id(self, user_id: str) -> str:
        """The stored pseudonym of a raw user id, to look a customer up."""
        return pseudonymize_user_id(user_id, self.hmac_key)


def _build_query(settings: Settings) -> QueryAdaptersImpl:
    bind_tables(settings)
    key = settings.hmac_key()
    return QueryAdaptersImpl(
        admin_token=settings.admin_token,
        visitors=DynamoVisitorRepository(settings),
        counters=DynamoCounterRepository(settings),
        rejected=RejectedRepository(key),
        hmac_key=key,
    )


def query_adapters() -> QueryAdaptersImpl:
    """The query function's adapters."""
    settings = load_settings()
    adapters: QueryAdaptersImpl = _cached("query", settings, _build_query)
    return adapters


__all__ = ["enrich_ports", "lake_writer", "query_adapters"]
