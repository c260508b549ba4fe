"""The engine builds the same HyperLogLog registers as the Python reference, from one portable SQL text.

The rollup's visitor query runs through the DuckDB executor (the Athena SQL translated by
`sqlcompat`), over generated keys (ASCII, unicode, empty, long); its registers must equal
`hll.sketch` of the same keys byte for byte, its count must be exact, and the estimate must stay
within the stated error.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.analytics import hll
from reviva.analytics.ports import LakeQuery
from reviva.analytics.rollups import ROLLUP_VISITORS_SQL
from reviva.analytics.sqlcompat import lint

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _engine_sketches(keys_by_day: list[list[str]]) -> dict[int, tuple[int, bytes]]:
    """Day offset → (visitors, registers) as the rollup query computes them on DuckDB."""
    keys, times = [], []
    for offset, day_keys in enumerate(keys_by_day):
        for index, key in enumerate(day_keys):
            keys.append(key)
            times.append(DAY + timedelta(days=offset, seconds=index % 86_400))
    table = pa.table(
        {
            "visitor_key": pa.array(keys, pa.string()),
            "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "is_bot": pa.array([False] * len(keys)),
        }
    )
    executor = DuckDBExecutor(*arrow_source(table))
    end = DAY + timedelta(days=len(keys_by_day))
    rows = executor.run(LakeQuery("rollup_visitors", ROLLUP_VISITORS_SQL, (DAY, end), DAY, end))
    return {(row["day"] - DAY).days: (int(row["visitors"]), hll.unpack(row["registers"])) for row in rows}


def _reference_rank(key: str) -> tuple[int, int]:
    """The register and rank of a key, spelled out bit by bit (independent of `hll.sketch`)."""
    bits = "".join(f"{byte:08b}" for byte in hashlib.md5(key.encode()).digest()[:8])
    rest = bits[hll.PRECISION :]
    rank = rest.index("1") + 1 if "1" in rest else len(rest) + 1
    return int(bits[: hll.PRECISION], 2), rank


def test_the_query_is_portable() -> None:
    assert lint(ROLLUP_VISITORS_SQL) == []


def test_the_python_sketch_is_the_hash_spelled_out() -> None:
    keys = [f"a:{i}" for i in range(5_000)] + ["", "é", "a:\U0001f600"]
    expected = bytearray(hll.REGISTERS)
    for key in keys:
        index, rank = _reference_rank(key)
        expected[index] = max(expected[index], rank)
    assert hll.sketch(keys) == bytes(expected)


@settings(max_examples=25)
@given(
    st.lists(
        st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=60, unique=True),
        min_size=1,
        max_size=3,
    )
)
def test_engine_registers_equal_the_reference_for_any_keys(keys_by_day: list[list[str]]) -> None:
    # DuckDB strings are UTF-8: keys are valid text, as visitor keys always are.
    keys_by_day = [[k for k in day if "\x00" not in k] or ["a:x"] for day in keys_by_day]
    engine = _engine_sketches(keys_by_day)
    for offset, day_keys in enumerate(keys_by_day):
        visitors, registers = engine[offset]
        assert visitors == len(set(day_keys))
        assert registers == hll.sketch(day_keys)


def test_large_days_match_and_estimate_within_the_stated_error() -> None:
    days = [[f"a:{day}-{i}" for i in range(count)] for day, count in enumerate((120_000, 3_000, 40_000))]
    engine = _engine_sketches(days)
    for offset, day_keys in enumerate(days):
        visitors, registers = engine[offset]
        assert visitors == len(day_keys)
        assert registers == hll.sketch(day_keys)
        # Three standard errors (0.8 % each): a fixed hash on fixed keys, so this is deterministic.
        assert abs(hll.estimate(registers) - len(day_keys)) <= 3 * hll.STANDARD_ERROR * len(day_keys)
    union = hll.merge(registers for _, registers in engine.values())
    total = sum(len(day_keys) for day_keys in days)
    assert abs(hll.estimate(union) - total) <= 3 * hll.STANDARD_ERROR * total


def test_a_packed_sketch_is_checked() -> None:
    assert hll.unpack("0" * hll.REGISTERS) == bytes(hll.REGISTERS)
    assert hll.unpack("c" * hll.REGISTERS) == bytes([51]) * hll.REGISTERS
    for bad in ("0" * 10, "d" * hll.REGISTERS):
        try:
            hll.unpack(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad[:5]!r}… was accepted")
