"""`python -m cost` (`make cost`): measure the pipeline on the emulator, print the cost per million events."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from datetime import timedelta

from cost.measure import Measurement, measure, session_offsets
from cost.model import (
    PATH_LINES,
    TARGET_PER_MILLION,
    TARGET_VOLUME,
    VOLUMES,
    WINDOWS,
    MonthlyCost,
    Scenario,
    UnitFigures,
    load_prices,
    monthly_cost,
    prices_as_of,
    unit_figures,
    with_client_batching,
    with_window,
)
from reviva_dev.measure.tracker_requests import DeliveryPolicy, tracker_requests

TRACKER_WAITS_SECONDS = (10, 30, 60, 120, 300)


def _volume(events: float) -> str:
    return f"{events / 1e9:g}B" if events >= 1e9 else f"{events / 1e6:g}M"


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def render_measurement(m: Measurement, u: UnitFigures) -> str:
    """What was measured, per unit of work."""
    ingest_calls = ", ".join(f"{k} {v:.2f}" for k, v in sorted(u.ingest_calls_per_request.items()))
    calls = ", ".join(f"{k} {b:.2f}/batch + {v:.2f}/visitor" for k, (b, v) in sorted(u.enrich_calls.items()))
    return "\n".join(
        [
            "## Measured on the emulator",
            "",
            f"- Traffic: {m.visitors} simulated visitors over {m.days} days: {m.messages} messages, "
            f"{m.events} events on the stream, {m.requests} tracker requests "
            f"({u.events_per_request:.2f} events a request, {u.request_bytes:,.0f} bytes a request).",
            f"- Ingest: CPU {u.ingest_cpu_ms[0]:.2f} ms + {u.ingest_cpu_ms[1]:.3f} ms a message; "
            f"calls a request: {ingest_calls}; "
            f"{u.ingest_log_bytes:.0f} log bytes an invocation.",
            f"- Kinesis: {u.records_per_event:.2f} records an event, {u.record_bytes:,.0f} bytes a record "
            f"({u.record_kb_units:.2f} billed 1 KB units, {u.record_payload_units:.2f} 25 KB payload units).",
            f"- Enrich ({m.window_seconds:g} s window at the simulated rate: "
            f"{u.measured_events_per_batch:.2f} events a batch, "
            f"{u.measured_visitor_batches_per_event:.2f} visitor-batches an event; plus "
            f"{len(m.enrich_dense)} dense batches): CPU {u.enrich_cpu_ms[0]:.1f} ms a batch + "
            f"{u.enrich_cpu_ms[1]:.2f} ms an event + {u.enrich_cpu_ms[2]:.2f} ms a visitor + "
            f"{u.enrich_cpu_ms[3]:.3f} ms a snapshot the table keeps; {calls}; "
            f"{u.enrich_log_bytes:.0f} log bytes an invocation.",
            f"- DynamoDB: {u.wru_per_batch:.2f} WRU and {u.rru_per_batch:.2f} RRU a batch (the counters, "
            "and the transaction surcharge of the visitor write they ride in), "
            f"{u.wru_per_visitor_batch:.2f} WRU and {u.rru_per_visitor_batch:.2f} RRU a visitor-batch "
            f"(profile, sessions, identity links; largest item {m.dynamo_max_item_bytes:,} bytes).",
            f"- Lake: {u.commits_per_batch:.2f} Iceberg commits a batch; a commit makes "
            f"{u.s3_tier1_per_commit:.1f} PUT/POST/LIST and {u.s3_tier2_per_commit:.1f} GET/HEAD S3 "
            f"requests, writes {u.s3_bytes_per_commit:,.0f} bytes, and {u.glue_per_commit:.1f} catalog "
            "requests (Glue in AWS).",
            f"- Custom metrics (EMF) emitted: {', '.join(m.metric_names)}.",
        ]
    )


def render_costs(rows: list[MonthlyCost]) -> str:
    """The headline table: cost per million events at each volume, the path and everything."""
    lines = [
        "| events a month | path per million | all-in per million | all-in a month | requests "
        "| enrich batches | events a batch | shards | ingest ms | enrich ms | enrich busy at peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in rows:
        lines.append(
            f"| {_volume(c.events)} | **{_usd(c.path_per_million)}** | {_usd(c.per_million)} "
            f"| {_usd(c.total)} | {c.requests:,.0f} | {c.batches:,.0f} | {c.events_per_batch:.1f} "
            f"| {c.shards} | {c.ingest_ms:.0f} | {c.enrich_ms:.0f} | {c.enrich_busy:.0%} |"
        )
    return "\n".join(lines)


def render_breakdown(rows: list[MonthlyCost]) -> str:
    """Each line item per million events, at each volume."""
    names = list(dict.fromkeys(n for c in rows for n in [*c.lines, *c.fixed]))
    head = "| line item | " + " | ".join(_volume(c.events) for c in rows) + " |"
    lines = [head, "|---|" + "---|" * len(rows)]
    for name in names:
        values = [(c.lines.get(name, 0.0) + c.fixed.get(name, 0.0)) / (c.events / 1e6) for c in rows]
        fixed = " (fixed)" if any(name in c.fixed for c in rows) else ""
        lines.append(f"| {name}{fixed} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    return "\n".join(lines)


def render_windows(units: UnitFigures, base: Scenario, prices: dict[str, float]) -> str:
    """Cost per million events for each batching window and volume."""
    lines = [
        "| window | " + " | ".join(_volume(v) for v in VOLUMES) + " | events a batch at 100M |",
        "|---|" + "---|" * (len(VOLUMES) + 1),
    ]
    for window in WINDOWS:
        costs = [monthly_cost(units, v, with_window(base, window), prices) for v in VOLUMES]
        at_target = next(c for c in costs if c.events == TARGET_VOLUME)
        lines.append(
            f"| {window:g} s | "
            + " | ".join(_usd(c.per_million) for c in costs)
            + f" | {at_target.events_per_batch:.1f} |"
        )
    return "\n".join(lines)


def rebatched(m: Measurement, units: UnitFigures, wait_seconds: float) -> tuple[UnitFigures, float]:
    """The measured units with the tracker waiting up to `wait_seconds`, and its events a request."""
    policy = replace(DeliveryPolicy.load(), max_wait=timedelta(seconds=wait_seconds))
    requests = tracker_requests(m.plan_messages, policy)
    per_request = sum(len(r.messages) for r in requests) / len(requests)
    return with_client_batching(units, per_request, session_offsets(requests)), per_request


def render_tracker_waits(m: Measurement, units: UnitFigures, base: Scenario, prices: dict[str, float]) -> str:
    """The tracker's wait for urgent messages (freshness at the source) against cost, the same messages
    re-batched; background messages wait `backgroundMaxWaitMs` or, if longer, the same."""
    policy = DeliveryPolicy.load()
    lines = [
        "| tracker `maxWaitMs` (background events wait the longer of it and `backgroundMaxWaitMs`) "
        "| events a request | path at 100M | all-in at 100M | all-in at 1B |",
        "|---|---|---|---|---|",
    ]
    for wait in TRACKER_WAITS_SECONDS:
        waited, per_request = rebatched(m, units, wait)
        at_target, at_1b = (monthly_cost(waited, v, base, prices) for v in (TARGET_VOLUME, 1e9))
        marker = " (the tracker's default)" if timedelta(seconds=wait) == policy.max_wait else ""
        lines.append(
            f"| {wait:g} s{marker} | {per_request:.2f} | {_usd(at_target.path_per_million)} | "
            f"{_usd(at_target.per_million)} | {_usd(at_1b.per_million)} |"
        )
    return "\n".join(lines)


def alternatives(base: Scenario) -> list[Scenario]:
    """Configurations that trade freshness, protection or observability for cost."""
    provisioned = replace(
        base, name="provisioned stream sized for the peak (`-c kinesisShards=N`)", stream_mode="provisioned"
    )
    return [
        base,
        provisioned,
        replace(
            provisioned,
            name="as above, 60 s batching window (`-c batchingWindowSeconds=60`)",
            window_seconds=60,
        ),
        replace(
            provisioned,
            name="as above, 120 s batching window (`-c batchingWindowSeconds=120`)",
            window_seconds=120,
        ),
        replace(provisioned, name="as above, no X-Ray", xray=False),
        replace(base, name="on-demand, no CloudFront/WAF, no X-Ray", xray=False, edge=False),
    ]


def render_alternatives(m: Measurement, units: UnitFigures, base: Scenario, prices: dict[str, float]) -> str:
    """Path cost of each alternative configuration, and the closest to the target we measured."""
    lines = [
        "| configuration | path: "
        + " | ".join(_volume(v) for v in VOLUMES)
        + " | all-in at 100M | path meets $0.50 at 100M |",
        "|---|" + "---|" * (len(VOLUMES) + 2),
    ]
    closest = replace(
        base,
        name="provisioned, 60 s window, tracker waiting up to 120 s",
        stream_mode="provisioned",
        window_seconds=60,
    )
    waited, _ = rebatched(m, units, 120)
    for scenario, scenario_units in [*((s, units) for s in alternatives(base)), (closest, waited)]:
        costs = [monthly_cost(scenario_units, v, scenario, prices) for v in VOLUMES]
        at_target = next(c for c in costs if c.events == TARGET_VOLUME)
        verdict = "yes" if at_target.path_per_million <= TARGET_PER_MILLION else "no"
        lines.append(
            f"| {scenario.name} | "
            + " | ".join(_usd(c.path_per_million) for c in costs)
            + f" | {_usd(at_target.per_million)} | {verdict} |"
        )
    return "\n".join(lines)


def verdict(
    rows: list[MonthlyCost],
    provisioned: MonthlyCost,
    provisioned_60: MonthlyCost,
    provisioned_120: MonthlyCost,
) -> str:
    """Whether the target is met at 100M events a month, and what dominates."""
    at = next(c for c in rows if c.events == TARGET_VOLUME)
    path_items = {k: v for k, v in [*at.lines.items(), *at.fixed.items()] if k in PATH_LINES}
    top = sorted(path_items.items(), key=lambda kv: -kv[1])[:3]
    share = ", ".join(f"{name} {value / at.path_total:.0%}" for name, value in top)

    def met(cost: float) -> str:
        return "MET" if cost <= TARGET_PER_MILLION else "NOT MET"

    return (
        f"Target: the ingest -> enrich -> store path at most ${TARGET_PER_MILLION:.2f} per million events at "
        f"100M a month.\n\n- Topology defaults (on-demand stream): {_usd(at.path_per_million)} per million, "
        f"{met(at.path_per_million)}. Largest path items: {share}.\n"
        f"- With the provisioned-stream option sized for the peak ({provisioned.shards} shard(s)): "
        f"{_usd(provisioned.path_per_million)} per million, {met(provisioned.path_per_million)}.\n"
        f"- Provisioned and a 60 s batching window (`-c kinesisShards={provisioned_60.shards} "
        f"-c batchingWindowSeconds=60`): {_usd(provisioned_60.path_per_million)} per million, "
        f"{met(provisioned_60.path_per_million)}.\n"
        f"- Provisioned and a 120 s batching window (`-c kinesisShards={provisioned_120.shards} "
        f"-c batchingWindowSeconds=120`, the configuration docs/deploy.md names for ~100M a month): "
        f"{_usd(provisioned_120.path_per_million)} per million, {met(provisioned_120.path_per_million)}.\n"
        f"- Everything, edge (CloudFront, WAF) and operations (logs, X-Ray, metrics, alarms, secrets) "
        f"included: {_usd(at.per_million)} (on-demand), {_usd(provisioned.per_million)} (provisioned)."
    )


def main() -> int:
    logging.disable(logging.WARNING)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "cost")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "cost")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    visitors = int(os.environ.get("COST_VISITORS", "40"))
    days = int(os.environ.get("COST_DAYS", "2"))
    print(f"measuring {visitors} simulated visitors over {days} days on the emulator…", file=sys.stderr)
    m = measure(visitors=visitors, days=days)
    units = unit_figures(m)
    prices = load_prices()
    base = Scenario()
    rows = [monthly_cost(units, v, base, prices) for v in VOLUMES]
    print(f"# AWS cost per million events (us-east-1 list prices as of {prices_as_of()})\n")
    provisioned, provisioned_60, provisioned_120 = (
        monthly_cost(units, TARGET_VOLUME, scenario, prices) for scenario in alternatives(base)[1:4]
    )
    print(verdict(rows, provisioned, provisioned_60, provisioned_120) + "\n")
    print(
        f"Scenario: {base.window_seconds:g} s batching window, batch size {base.batch_size}, on-demand "
        f"stream, ingest {base.ingest_memory_mb} MB / enrich {base.enrich_memory_mb} MB arm64, X-Ray on, "
        "CloudFront + WAF on the ingest path.\n"
    )
    print(render_costs(rows) + "\n")
    print("## Per million events, by line item\n")
    print(render_breakdown(rows) + "\n")
    print("## Batching window: freshness against cost (per million events)\n")
    print(render_windows(units, base, prices) + "\n")
    print("## The tracker's longest wait: freshness against cost (topology defaults)\n")
    print(render_tracker_waits(m, units, base, prices) + "\n")
    print("## Other configurations (per million events)\n")
    print(render_alternatives(m, units, base, prices) + "\n")
    at = next(c for c in rows if c.events == TARGET_VOLUME)
    print(
        f"Lake storage added at 100M events a month: {at.lake_gb_added:.1f} GB "
        f"(${at.lake_gb_added * prices['s3_standard_gb_month']:.2f} a month for every month it is kept, "
        "before compaction).\n"
    )
    print(render_measurement(m, units))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
