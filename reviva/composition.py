"""The composition root: builds each function's adapters from settings, once per container.

Handlers call these on each invocation; the first call reads the environment and builds clients,
later calls reuse them. Domain code never calls this module: it receives the adapters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from reviva.aws_clients import client as aws_client
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

if TYPE_CHECKING:  # the analytics layer is imported lazily: only the query function needs it
    from pyiceberg.table import Table

    from reviva.analytics.ports import ObjectStore
    from reviva.analytics.service import AnalyticsService
    from reviva.analytics.spend import SpendStore

_lock = threading.Lock()
# function name → (the settings it was built from, its adapters). Keeping the settings object itself
# (not its id, which a later object may reuse) rebuilds exactly when the settings were reloaded.
_built: dict[str, tuple[Settings, object]] = {}


def _cached(name: str, settings: Settings, build):  # type: ignore[no-untyped-def]
    """Build once per function and settings; the local runtime and tests reload settings."""
    with _lock:
        entry = _built.get(name)
        if entry is None or entry[0] is not settings:
            entry = (settings, build(settings))
            _built[name] = entry
        return entry[1]


def lake_writer(settings: Settings) -> LakeWriter:
    """The events table writer (the table is loaded on first use, not here)."""

    def load_table():  # type: ignore[no-untyped-def]
        return ensure_events_table(load_lake_catalog(settings), settings)

    return LakeWriter(load_table)


def events_table() -> Table:
    """The lake's `events` table, for scheduled maintenance (loaded fresh on every call)."""
    settings = load_settings()
    return ensure_events_table(load_lake_catalog(settings), settings)


def _build_enrich(settings: Settings) -> EnrichPorts:
    bind_tables(settings)
    counters = DynamoCounterRepository(settings)
    return EnrichPorts(
        visitors=DynamoVisitorRepository(settings, counters=counters),
        counters=counters,
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
    settings: Settings | None = None
    _analytics: AnalyticsService | None = None

    def pseudonymize_user_id(self, user_id: str) -> str:
        """The stored pseudonym of a raw user id, to look a customer up."""
        return pseudonymize_user_id(user_id, self.hmac_key)

    @property
    def analytics(self) -> AnalyticsService:
        """The analytics service, built on first use (its engine and lake reader are heavy imports)."""
        if self._analytics is None:
            self._analytics = analytics_service(self.settings or load_settings())
        return self._analytics


def analytics_object_store(settings: Settings) -> ObjectStore:
    """Where rollups and imported spend live: `analytics/` in the lake bucket (or its directory)."""
    from reviva.adapters.object_store import DirectoryObjectStore, S3ObjectStore
    from reviva.analytics.config import AnalyticsSettings

    bucket = AnalyticsSettings().analytics_bucket or settings.lake_bucket
    if bucket.startswith("file://"):
        return DirectoryObjectStore(Path(bucket.removeprefix("file://")) / "analytics")
    return S3ObjectStore(aws_client("s3", settings), bucket.removeprefix("s3://").rstrip("/"), "analytics/")


def analytics_service(settings: Settings) -> AnalyticsService:
    """The analytics endpoints' service: Athena when the lake's catalog is Glue, DuckDB locally."""
    from reviva.adapters.athena_executor import AthenaExecutor
    from reviva.adapters.duckdb_executor import DuckDBExecutor, iceberg_source
    from reviva.analytics.config import AnalyticsSettings
    from reviva.analytics.ports import QueryExecutor
    from reviva.analytics.rollups import RollupService
    from reviva.analytics.service import AnalyticsService
    from reviva.analytics.spend import SpendStore

    options = AnalyticsSettings()
    engine = options.engine or ("athena" if settings.lake_catalog.lower() == "glue" else "duckdb")

    def load_table():  # type: ignore[no-untyped-def]
        return ensure_events_table(load_lake_catalog(settings), settings)

    source, freshness = iceberg_source(load_table)
    executor: QueryExecutor
    if engine == "athena":
        executor = AthenaExecutor(
            aws_client("athena", settings),
            workgroup=options.athena_workgroup,
            database=options.athena_database or settings.lake_namespace,
            table=settings.lake_table,
            freshness=freshness,
            timeout_seconds=options.athena_timeout_seconds,
            reuse_minutes=options.athena_reuse_minutes,
        )
    elif engine == "duckdb":
        executor = DuckDBExecutor(source, freshness)
    else:
        raise ValueError(f"ANALYTICS_ENGINE must be 'athena' or 'duckdb', not {engine!r}")
    store = analytics_object_store(settings)
    rollups = RollupService(
        executor,
        store,
        min_age=timedelta(
            seconds=options.rollup_min_age_seconds
            if options.rollup_min_age_seconds is not None
            else (300 if engine == "athena" else 60)
        ),
        max_age=timedelta(seconds=options.rollup_max_age_seconds),
    )
    return AnalyticsService(executor, rollups, SpendStore(store))


def spend_store() -> SpendStore:
    """The imported ad spend (for `reviva import spend`)."""
    from reviva.analytics.spend import SpendStore

    return SpendStore(analytics_object_store(load_settings()))


def _build_query(settings: Settings) -> QueryAdaptersImpl:
    bind_tables(settings)
    key = settings.hmac_key()
    return QueryAdaptersImpl(
        admin_token=settings.admin_token,
        visitors=DynamoVisitorRepository(settings),
        counters=DynamoCounterRepository(settings),
        rejected=RejectedRepository(key),
        hmac_key=key,
        settings=settings,
    )


def query_adapters() -> QueryAdaptersImpl:
    """The query function's adapters."""
    settings = load_settings()
    adapters: QueryAdaptersImpl = _cached("query", settings, _build_query)
    return adapters


__all__ = ["analytics_service", "enrich_ports", "lake_writer", "query_adapters", "spend_store"]
