"""Fixtures: the fixed dataset behind a DuckDB executor, a clock, and a service over them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.rollups import RollupService
from reviva.analytics.service import AnalyticsService
from reviva.analytics.spend import SpendStore
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics import dataset

NOW = datetime(2026, 11, 12, 12, tzinfo=UTC)


@pytest.fixture(scope="session")
def executor() -> DuckDBExecutor:
    return DuckDBExecutor(*arrow_source(dataset.table()))


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def service(executor: DuckDBExecutor, store: MemoryObjectStore) -> AnalyticsService:
    return AnalyticsService(
        executor,
        RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
    )
