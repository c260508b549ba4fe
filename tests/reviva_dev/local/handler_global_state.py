"""A test function that keeps per-invocation state in a module global, as Powertools' resolver does."""

from __future__ import annotations

import threading
import time
from typing import Any

from aws_lambda_powertools import Metrics

current_path: str | None = None
metrics = Metrics(namespace="RevivaTest", service="state")
running = 0
most_running = 0
count_lock = threading.Lock()  # copies of this module count in the imported one


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global current_path
    import tests.reviva_dev.local.handler_global_state as shared  # the counters live in the imported module

    with shared.count_lock:
        shared.running += 1
        shared.most_running = max(shared.most_running, shared.running)
    try:
        current_path = event["rawPath"]
        metrics.add_metric(name="Seen", unit="Count", value=1)
        time.sleep(0.1)
        seen = len(metrics.metric_set["Seen"]["Value"])
        metrics.clear_metrics()
        return {"statusCode": 200, "body": f"{current_path} {seen}"}
    finally:
        with shared.count_lock:
            shared.running -= 1
