"""`python -m bench` (`make bench`): run the benchmarks, print the figures, write docs/performance.md."""

from __future__ import annotations

import logging
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import analytics, local_load, ltv, pipeline
from bench.report import render_local_load, render_performance_doc
from reviva_dev.measure.timing import pin_to_one_core


def machine_description(pinned: str) -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores (benchmarks pinned to {pinned}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main() -> int:
    logging.disable(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "REVIVA_PSEUDONYMIZATION_KEY": "bench-pseudonymization-key",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    pinned = pin_to_one_core()
    visitors = int(os.environ.get("BENCH_VISITORS", "300"))
    figures = pipeline.run(visitors=visitors)
    machine = machine_description(pinned)
    analytics_figures = analytics.run()
    load_figures = local_load.run()
    document = (
        render_performance_doc(figures, machine, datetime.now(UTC))
        + "\n"
        + analytics.render(analytics_figures)
        + "\n"
        + render_local_load(load_figures, machine)
        + "\n"
        + ltv.render(ltv.run())
    )
    print(document)
    Path("docs").mkdir(exist_ok=True)
    Path("docs/performance.md").write_text(document)
    print("written to docs/performance.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
