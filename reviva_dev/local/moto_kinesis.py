"""Kinesis shards on the emulator: one writer at a time, and reads that start where they resume.

moto's `Shard.put_record` numbers a record as "the last sequence number + 1" and stores it under
that number, with no lock ("not safe for concurrency", its own comment says). `reviva dev` runs
ingest invocations concurrently, so two `PutRecords` could take the same number and one record
silently replaced the other: ingest answered 200 and the events never reached a profile (seen under
the load test as 10 events of one request missing). Finding "the last number" also copied every
key of the shard, and `get_records` walked the shard from its first record on every poll: both
grew with the stream. Here each shard takes a lock to write and to read; the last number is read
from the end of the ordered dictionary; and a read whose records are numbered without gaps (moto
numbers 1, 2, 3, ...) looks them up by number. The records, their numbers and every answer are
moto's.
"""

from __future__ import annotations

import threading
from typing import Any

from reviva_dev.local.moto_patching import is_replaced, owned_lock, replace_methods, restore_methods

_MARK = "__reviva_shard_lock__"
_LOCK_ATTRIBUTE = "_reviva_lock"
_METHODS = ("put_record", "get_records")


def shard_lock(shard: Any) -> threading.Lock:
    """The lock of one shard (created on first use)."""
    lock: threading.Lock = owned_lock(shard, _LOCK_ATTRIBUTE, threading.Lock)
    return lock


def install_shard_locks() -> None:
    """Replace moto's `Shard.put_record` and `Shard.get_records` (idempotent)."""
    from moto.kinesis.models import Record, Shard

    if is_replaced(Shard, "put_record", _MARK):
        return
    moto_get_records = Shard.get_records

    def put_record(self: Any, partition_key: str, data: bytes, explicit_hash_key: str) -> str:
        with shard_lock(self):
            last_sequence_number = next(reversed(self.records)) if self.records else 0
            sequence_number = last_sequence_number + 1
            self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
            return str(sequence_number)

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        with shard_lock(self):
            records = self.records
            if not records:
                return moto_get_records(self, last_sequence_id, limit)
            first, last = next(iter(records)), next(reversed(records))
            if last - first + 1 != len(records):  # not numbered without gaps: moto's own walk
                return moto_get_records(self, last_sequence_id, limit)
            last_sequence_int = int(last_sequence_id)
            start = max(last_sequence_int + 1, first)
            end = last if not limit else min(last, start + limit - 1)
            results = [records[number] for number in range(start, end + 1)]
            if not results:
                return [], last_sequence_int, 0
            behind = (records[last].created_at - results[-1].created_at).total_seconds()
            return results, results[-1].sequence_number, int(behind * 1000)

    replace_methods(Shard, _MARK, {"put_record": put_record, "get_records": get_records})


def uninstall_shard_locks() -> None:
    """Give moto its own methods back (for tests that compare the two)."""
    from moto.kinesis.models import Shard

    restore_methods(Shard, _MARK, _METHODS)
