"""The HyperLogLog sketch of `reviva.analytics.hll`, built by the lake engine instead of in Python.

Both engines must compute the same registers from one SQL text (Athena dialect, translated for
DuckDB by `sqlcompat`), so the SQL uses only what both spell and evaluate alike: MD5 of the key's
UTF-8 bytes as lower-case hex, `substr`, `strpos`, string comparison of single hex digits, CASE,
integer arithmetic without division. No floating `log2`, no bit functions (Trino's
`bitwise_right_shift` and DuckDB's `>>` have no checked translation), no base conversion (Trino's
`from_base` does not exist in DuckDB).

With the 64-bit hash as 16 hex digits h1..h16:
- register index = the top 14 bits: h1, h2, h3 (4 bits each) and the top two bits of h4;
- rank = 1 + leading zeros of the other 50 bits (h4's low two bits, then h5..h16), found by a
  generated CASE ladder that tests one digit after another (a digit is reached only when every
  earlier one was zero); all 50 bits zero gives 51.

The day's registers come back as one string of 16,384 characters, chr(48 + rank) in register
order (`hll.unpack` turns it into bytes in one call), so a day is one result row.
"""

from __future__ import annotations

from reviva.analytics.hll import PACKED_ZERO, PRECISION, REGISTERS

if PRECISION != 14:  # the ladder below reads h1..h4 for the index: it is written for 14 bits
    raise ImportError("sketch_sql is written for HyperLogLog precision 14")

_DIGITS = "0123456789abcdef"
# Register indices are generated as high * 128 + low: Trino's sequence() stops at 10,000 entries.
_SLOT_SIDE = 128
assert _SLOT_SIDE * _SLOT_SIDE == REGISTERS


def hex_hash_sql(column: str) -> str:
    """The key's MD5 as 32 lower-case hex digits (Trino: varbinary → to_hex; DuckDB: the same)."""
    return f"lower(to_hex(md5(to_utf8({column}))))"


def _digit(hash_column: str, position: int) -> str:
    return f"substr({hash_column}, {position}, 1)"


def _digit_value(hash_column: str, position: int) -> str:
    return f"(strpos('{_DIGITS}', {_digit(hash_column, position)}) - 1)"


def register_index_sql(hash_column: str) -> str:
    """The register a hashed key falls in (0..16383): h1·1024 + h2·64 + h3·4 + (h4 >> 2)."""
    h4 = _digit(hash_column, 4)
    top_two = f"CASE WHEN {h4} >= 'c' THEN 3 WHEN {h4} >= '8' THEN 2 WHEN {h4} >= '4' THEN 1 ELSE 0 END"
    return (
        f"({_digit_value(hash_column, 1)} * 1024 + {_digit_value(hash_column, 2)} * 64"
        f" + {_digit_value(hash_column, 3)} * 4 + {top_two})"
    )


def register_rank_sql(hash_column: str) -> str:
    """1 + the leading zeros of the hash's 50 bits after the index (1..51), exactly."""
    h4 = _digit(hash_column, 4)
    whens = [
        f"WHEN {h4} IN ('2', '3', '6', '7', 'a', 'b', 'e', 'f') THEN 1",  # bit 14 set
        f"WHEN {h4} IN ('1', '5', '9', 'd') THEN 2",  # bit 14 clear, bit 15 set
    ]
    for position in range(5, 17):
        zeros_before = 2 + 4 * (position - 5)  # every earlier bit of the 50 is zero here
        digit = _digit(hash_column, position)
        whens += [
            f"WHEN {digit} >= '8' THEN {zeros_before + 1}",
            f"WHEN {digit} >= '4' THEN {zeros_before + 2}",
            f"WHEN {digit} >= '2' THEN {zeros_before + 3}",
            f"WHEN {digit} = '1' THEN {zeros_before + 4}",
        ]
    return "CASE " + " ".join(whens) + " ELSE 51 END"


def daily_sketch_sql(range_predicate: str) -> str:
    """Per UTC day: the exact count of distinct visitor keys and the packed sketch of them.

    `range_predicate` filters `events` (with its own `?` parameters); days without events are
    absent. Columns: day, visitors, registers.
    """
    return f"""
WITH day_visitors AS (
  SELECT DISTINCT date_trunc('day', event_time) AS day, visitor_key
  FROM events
  WHERE {range_predicate}
),
hashed AS (
  SELECT day, {hex_hash_sql("visitor_key")} AS h
  FROM day_visitors
),
registers AS (
  SELECT day, {register_index_sql("h")} AS register_index, max({register_rank_sql("h")}) AS register_rank
  FROM hashed
  GROUP BY 1, 2
),
days AS (
  SELECT day, count(*) AS visitors
  FROM day_visitors
  GROUP BY day
),
slots AS (
  SELECT high * {_SLOT_SIDE} + low AS register_index
  FROM UNNEST(sequence(0, {_SLOT_SIDE - 1})) AS highs(high)
  CROSS JOIN UNNEST(sequence(0, {_SLOT_SIDE - 1})) AS lows(low)
)
SELECT days.day AS day,
       days.visitors AS visitors,
       array_join(
         array_agg(chr({PACKED_ZERO} + coalesce(registers.register_rank, 0)) ORDER BY slots.register_index),
         ''
       ) AS registers
FROM days
CROSS JOIN slots
LEFT JOIN registers ON registers.day = days.day AND registers.register_index = slots.register_index
GROUP BY days.day, days.visitors
"""
