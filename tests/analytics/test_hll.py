"""HyperLogLog sketches: exact for small sets, within two percent for large ones."""

from __future__ import annotations

from reviva.analytics import hll


def test_small_sets_are_counted_exactly_and_merge_as_unions() -> None:
    a = hll.sketch(f"a:{i}" for i in range(40))
    b = hll.sketch(f"a:{i}" for i in range(20, 70))
    assert hll.estimate(a) == 40
    assert hll.estimate(hll.merge([a, b])) == 70
    assert hll.decode(hll.encode(a)) == a
    assert hll.estimate(hll.merge([])) == 0


def test_large_sets_are_estimated_within_two_percent() -> None:
    registers = hll.sketch(f"visitor-{i}" for i in range(100_000))
    assert abs(hll.estimate(registers) - 100_000) / 100_000 < 0.02
