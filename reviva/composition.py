"""The composition root: the one place that builds adapters and hands them to the domains.

A `Composition` holds one `Settings` and builds each adapter the first time something asks for
it, then keeps it: in a Lambda container that is once per container. Handlers, the local
runtime, `make bench`, `make cost` and the tests all obtain their services here; tests and
benchmarks pass fakes as `overrides` (by adapter name) instead of patching modules.

`current_composition()` is the container's composition for the current settings (rebuilt when
the settings are reloaded, as the local runtime and tests do); `use_composition(...)` installs
another one for the length of a `with` block. Domain code never imports this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from reviva.settings import Settings, load_settings

if TYPE_CHECKING:  # adapters are imported where they are built: each function loads only its own
    from pyiceberg.table import Table

    from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository
    from reviva.adapters.dynamodb.visitor_repository import DynamoVisitorRepository
    from reviva.adapters.lake.writer import LakeWriter
    from reviva.adapters.poison_sink import RejectedPoisonSink
    from reviva.analytics.ports import ObjectStore
    from reviva.analytics.service import AnalyticsService
    from reviva.analytics.spend import SpendStore
    from reviva.api.ingest_http import IngestEndpoint
    from reviva.enrich.journey_rules import JourneyRules
    from reviva.enrich.ports import FailedBatchQueue, StreamRangeReader
    from reviva.enrich.service import EnrichPorts
    from reviva.ingest.ports import EventPublisher, RejectedStore
    from reviva.privacy.ports import ConsentLedger, SaltStore
    from reviva.privacy.pseudonymize import KeyedPseudonyms
    from reviva.query.ports import CounterReader, RejectedReader, VisitorReader
    from reviva.scoring.ports import TransactionStore

T = TypeVar("T")

# Every adapter a composition builds, by the name `overrides` uses.
ADAPTER_NAMES: Final = frozenset(
    {
        "publisher",
        "rejected_store",
        "salt_store",
        "consent_ledger",
        "ingest",
        "visitors",
        "counters",
        "lake_sink",
        "poison_sink",
        "journey_rules",
        "analytics_store",
        "analytics",
        "spend_store",
        "transactions",
        "query",
        "failed_batches",
        "stream_reader",
    }
)


@dataclass
class QueryAdapters:
    """What the query function's routes read: repositories, the admin token and the analytics."""

    admin_token: str
    visitors: VisitorReader
    counters: CounterReader
    rejected: RejectedReader
    hmac_key: bytes
    composition: Composition

    def pseudonymize_user_id(self, user_id: str) -> str:
        """The stored pseudonym of a raw user id, to look a customer up."""
        from reviva.privacy.pseudonymize import KeyedPseudonyms

        return KeyedPseudonyms(self.hmac_key).user_id(user_id)

    def pseudonymize_email(self, email: str) -> str:
        """The pseudonym ingest stores for an e-mail address (normalised as ingest does), to search by it."""
        from reviva.privacy.pseudonymize import KeyedPseudonyms

        return KeyedPseudonyms(self.hmac_key).email(email)

    @property
    def analytics(self) -> AnalyticsService:
        """The analytics service, built on first use (its engine and lake reader are heavy imports)."""
        return self.composition.analytics


class Composition:
    """Every adapter of every function, built once from one `Settings` (see the module docstring)."""

    def __init__(self, settings: Settings, overrides: Mapping[str, Any] | None = None) -> None:
        unknown = set(overrides or {}) - ADAPTER_NAMES
        if unknown:
            raise ValueError(f"no adapter is named {sorted(unknown)}; known: {sorted(ADAPTER_NAMES)}")
        self.settings = settings
        self._overrides: dict[str, Any] = dict(overrides or {})
        self._built: dict[str, Any] = {}
        # Reentrant: building one adapter may ask for another (visitors → counters).
        self._lock = threading.RLock()
        self._tables_bound = False

    def _adapter(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name in self._overrides:
                return cast(T, self._overrides[name])
            if name not in self._built:
                self._built[name] = build()
            return cast(T, self._built[name])

    def _bind_tables(self) -> None:
        """Point the pynamodb models at this composition's tables (once)."""
        from reviva.adapters.dynamodb.tables import bind_tables

        with self._lock:
            if not self._tables_bound:
                bind_tables(self.settings)
                self._tables_bound = True

    def _client(self, service: str) -> Any:
        from reviva.aws_clients import client

        return client(service, self.settings)

    # ------------------------------------------------------------------------------- ingest

    @property
    def publisher(self) -> EventPublisher:
        """The Kinesis publisher ingest writes accepted events through."""

        def build() -> EventPublisher:
            from reviva.adapters.kinesis_publisher import KinesisPublisher

            return KinesisPublisher(
                self._client("kinesis"),
                self.settings.events_stream,
                record_format=self.settings.stream_record_format,
            )

        return self._adapter("publisher", build)

    @property
    def rejected_store(self) -> RejectedStore:
        """The rejected-events store (DynamoDB): ingest's bad rows and enrich's poison records."""

        def build() -> RejectedStore:
            from reviva.adapters.dynamodb.rejected_repository import RejectedRepository

            self._bind_tables()
            return RejectedRepository(self.settings.hmac_key())

        return self._adapter("rejected_store", build)

    @property
    def salt_store(self) -> SaltStore:
        """Where the cookieless day's salt is shared between containers (DynamoDB)."""

        def build() -> SaltStore:
            from reviva.adapters.dynamodb.salt_store import salt_store_from_settings

            return salt_store_from_settings(self.settings)

        return self._adapter("salt_store", build)

    @property
    def consent_ledger(self) -> ConsentLedger:
        """The append-only history of consent decisions (DynamoDB)."""

        def build() -> ConsentLedger:
            from reviva.adapters.dynamodb.consent_ledger import DynamoConsentLedger
            from reviva.aws_clients import client

            return DynamoConsentLedger(client("dynamodb", self.settings), self.settings.consents_table)

        return self._adapter("consent_ledger", build)

    @property
    def ingest(self) -> IngestEndpoint:
        """The ingest API: the collector over the adapters above, with this settings' keys and origins."""

        def build() -> IngestEndpoint:
            from reviva.api.ingest_http import IngestEndpoint
            from reviva.ingest.collector import Collector
            from reviva.privacy.cookieless import DailySalt
            from reviva.privacy.policy import PrivacyPolicy

            policy = PrivacyPolicy(self.settings.hmac_key(), DailySalt(self.salt_store))
            collector = Collector(policy, self.publisher, self.rejected_store)
            return IngestEndpoint.from_settings(collector, self.settings, self.consent_ledger)

        return self._adapter("ingest", build)

    # ------------------------------------------------------------------------------- enrich

    @property
    def counters(self) -> DynamoCounterRepository:
        """Per-minute live counters with per-shard watermarks."""

        def build() -> DynamoCounterRepository:
            from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository

            self._bind_tables()
            return DynamoCounterRepository(self.settings)

        return self._adapter("counters", build)

    @property
    def visitors(self) -> DynamoVisitorRepository:
        """Profiles, sessions and identity links."""

        def build() -> DynamoVisitorRepository:
            from reviva.adapters.dynamodb.visitor_repository import DynamoVisitorRepository

            self._bind_tables()
            return DynamoVisitorRepository(self.settings, counters=self.counters)

        return self._adapter("visitors", build)

    @property
    def lake_sink(self) -> LakeWriter:
        """The events table writer (the table is loaded on first use, not here)."""

        def build() -> LakeWriter:
            from reviva.adapters.lake.writer import LakeWriter

            return LakeWriter(self.events_table)

        return self._adapter("lake_sink", build)

    @property
    def poison_sink(self) -> RejectedPoisonSink:
        """Where enrich puts stream records it can never process: the rejected store."""

        def build() -> RejectedPoisonSink:
            from reviva.adapters.poison_sink import RejectedPoisonSink

            return RejectedPoisonSink(self.rejected_store)

        return self._adapter("poison_sink", build)

    @property
    def journey_rules(self) -> JourneyRules:
        """The journey-stage rules: the shipped ones, or the file `REVIVA_JOURNEY_RULES` names."""

        def build() -> JourneyRules:
            from reviva.enrich.journey_rules import load_journey_rules

            return load_journey_rules(self.settings.journey_rules_path)

        return self._adapter("journey_rules", build)

    @property
    def enrich(self) -> EnrichPorts:
        """The enrich service's ports."""
        from reviva.enrich.service import EnrichPorts

        return EnrichPorts(
            visitors=self.visitors,
            counters=self.counters,
            lake=self.lake_sink,
            poison=self.poison_sink,
            rules=self.journey_rules,
        )

    @property
    def failed_batches(self) -> FailedBatchQueue:
        """The enrich mapping's on-failure destination (SQS), for `reviva replay-failed`."""

        def build() -> FailedBatchQueue:
            from reviva.adapters.failed_batch_queue import SqsFailedBatchQueue

            url = self.settings.dead_letter_queue_url
            if not url:
                raise ValueError("DEAD_LETTER_QUEUE_URL is not set: the on-failure queue's URL is needed")
            return SqsFailedBatchQueue(self._client("sqs"), url)

        return self._adapter("failed_batches", build)

    @property
    def stream_reader(self) -> StreamRangeReader:
        """Reads records back from the events stream while it retains them."""

        def build() -> StreamRangeReader:
            from reviva.adapters.kinesis_range_reader import KinesisRangeReader

            return KinesisRangeReader(self._client("kinesis"))

        return self._adapter("stream_reader", build)

    # --------------------------------------------------------------------------------- lake

    def events_table(self) -> Table:
        """The lake's `events` table, loaded fresh (maintenance and writers need current metadata)."""
        from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog

        return ensure_events_table(load_lake_catalog(self.settings), self.settings)

    # -------------------------------------------------------------------------------- query

    @property
    def query(self) -> QueryAdapters:
        """The query function's readers."""

        def build() -> QueryAdapters:
            return QueryAdapters(
                admin_token=self.settings.admin_token,
                visitors=self.visitors,
                counters=self.counters,
                rejected=self.rejected_store,
                hmac_key=self.settings.hmac_key(),
                composition=self,
            )

        return self._adapter("query", build)

    @property
    def analytics_store(self) -> ObjectStore:
        """Where rollups and imported spend live: `analytics/` in the lake bucket (or its directory)."""

        def build() -> ObjectStore:
            from reviva.adapters.object_store import DirectoryObjectStore, S3ObjectStore
            from reviva.analytics.config import AnalyticsSettings

            bucket = AnalyticsSettings().analytics_bucket or self.settings.lake_bucket
            if bucket.startswith("file://"):
                return DirectoryObjectStore(Path(bucket.removeprefix("file://")) / "analytics")
            return S3ObjectStore(self._client("s3"), bucket.removeprefix("s3://").rstrip("/"), "analytics/")

        return self._adapter("analytics_store", build)

    @property
    def spend_store(self) -> SpendStore:
        """The imported ad spend (for `reviva import spend` and attribution)."""

        def build() -> SpendStore:
            from reviva.analytics.spend import SpendStore

            return SpendStore(self.analytics_store)

        return self._adapter("spend_store", build)

    @property
    def transactions(self) -> TransactionStore:
        """The lake's `transactions` table (for `reviva import transactions` and the scoring jobs)."""

        def build() -> TransactionStore:
            from reviva.adapters.lake.catalog import load_lake_catalog
            from reviva.adapters.lake.transactions import LakeTransactionStore, ensure_transactions_table

            return LakeTransactionStore(
                lambda: ensure_transactions_table(load_lake_catalog(self.settings), self.settings)
            )

        return self._adapter("transactions", build)

    @property
    def pseudonyms(self) -> KeyedPseudonyms:
        """The keyed pseudonyms ingest stores, for domains that take identifiers from files."""
        from reviva.privacy.pseudonymize import KeyedPseudonyms

        return KeyedPseudonyms(self.settings.hmac_key())

    @property
    def analytics(self) -> AnalyticsService:
        """The analytics endpoints' service: Athena when the lake's catalog is Glue, DuckDB locally."""
        return self._adapter("analytics", self._build_analytics)

    def _build_analytics(self) -> AnalyticsService:
        from reviva.adapters.athena_executor import AthenaExecutor
        from reviva.adapters.duckdb_executor import DuckDBExecutor, iceberg_source
        from reviva.adapters.lake.history import IcebergLakeHistory
        from reviva.analytics.config import AnalyticsSettings
        from reviva.analytics.ports import QueryExecutor
        from reviva.analytics.rollups import RollupService
        from reviva.analytics.service import AnalyticsService

        settings = self.settings
        options = AnalyticsSettings()
        engine = options.engine or ("athena" if settings.lake_catalog.lower() == "glue" else "duckdb")
        source, freshness = iceberg_source(self.events_table)
        executor: QueryExecutor
        if engine == "athena":
            executor = AthenaExecutor(
                self._client("athena"),
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
        rollups = RollupService(
            executor,
            self.analytics_store,
            IcebergLakeHistory(self.events_table),
            min_age=timedelta(
                seconds=options.rollup_min_age_seconds
                if options.rollup_min_age_seconds is not None
                else (300 if engine == "athena" else 60)
            ),
        )
        from reviva.analytics.funnel_library import FunnelLibrary

        return AnalyticsService(
            executor,
            rollups,
            self.spend_store,
            funnels=FunnelLibrary(self.analytics_store),
            journey_rules=self.journey_rules,
        )


_lock = threading.Lock()
# The container's composition for the settings it was built from. Keeping the settings object
# itself (not its id, which a later object may reuse) rebuilds exactly when settings are reloaded.
_container: Composition | None = None
# Compositions installed by `use_composition`, innermost last.
_installed: list[Composition] = []


def current_composition() -> Composition:
    """The composition handlers use: an installed one, else the container's for the current settings."""
    global _container
    if _installed:
        return _installed[-1]
    settings = load_settings()
    with _lock:
        if _container is None or _container.settings is not settings:
            _container = Composition(settings)
        return _container


@contextmanager
def use_composition(composition: Composition) -> Iterator[Composition]:
    """Make `composition` the current one inside the block (tests, bench, cost, the local runtime)."""
    with _lock:
        _installed.append(composition)
    try:
        yield composition
    finally:
        with _lock:
            _installed.remove(composition)


__all__ = ["ADAPTER_NAMES", "Composition", "QueryAdapters", "current_composition", "use_composition"]
