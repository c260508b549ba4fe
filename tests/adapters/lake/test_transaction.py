"""The lake's transaction computes its metadata view once per staged change, and commits the same."""

from __future__ import annotations

from typing import Any

import pytest
from pyiceberg.table import Table

import reviva.adapters.lake.transaction as lake_transaction_module
from reviva.adapters.lake import LakeWriter, scan_events
from reviva.adapters.lake.schema import events_to_arrow
from reviva.adapters.lake.transaction import lake_transaction
from tests.adapters.lake.conftest import make_event

SHARD = "shardId-000000000000"


@pytest.fixture
def metadata_views(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the (deep-copying) metadata computations the lake's transactions make."""
    calls: list[int] = []
    compute = lake_transaction_module.update_table_metadata

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(lake_transaction_module, "update_table_metadata", counted)
    return calls


def test_an_append_computes_the_metadata_view_once_per_staged_change(
    s3_writer: LakeWriter, s3_table: Table, metadata_views: list[int]
) -> None:
    for batch in range(3):
        events = [make_event(batch * 10 + i) for i in range(5)]
        assert s3_writer.append(SHARD, events, last_sequence=str(batch + 1)) == 5
    # pyiceberg's own Transaction computes (and deep-copies) it ~20 times an append; this one
    # recomputes only after the requirement, the rows and the watermark are staged.
    assert 3 <= len(metadata_views) <= 3 * 4, len(metadata_views)
    s3_table.refresh()
    assert len(scan_events(s3_table)) == 15
    assert s3_table.properties["reviva.watermark." + SHARD] == "3"
    assert len(s3_table.snapshots()) == 3


def test_the_view_follows_staged_changes_and_refreshes(s3_table: Table) -> None:
    transaction = lake_transaction(s3_table)
    before = transaction.table_metadata
    assert transaction.table_metadata is before, "nothing staged: the same view"
    transaction.set_properties({"reviva.test": "1"})
    after = transaction.table_metadata
    assert after is not before and after.properties["reviva.test"] == "1"
    transaction.append(events_to_arrow([make_event(1)]))
    assert transaction.table_metadata.current_snapshot_id is not None
    assert before.current_snapshot_id is None, "an earlier view is not changed in place"
    transaction.commit_transaction()
    s3_table.refresh()
    assert s3_table.properties["reviva.test"] == "1" and len(scan_events(s3_table)) == 1
