"""A test function: answers with the event and context it was invoked with."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("rawPath") == "/raw-return":
        # Not a proxy response: API Gateway serializes it as a 200 JSON body.
        return {"plain": True}
    if event.get("rawPath") == "/malformed":
        return {"statusCode": "not-a-number", "body": "x"}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "cookies": ["seen=1; Path=/", "theme=dark; Path=/"],
        "body": json.dumps(
            {
                "event": event,
                "context": {
                    "function_name": context.function_name,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn,
                    "aws_request_id": context.aws_request_id,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                },
            }
        ),
    }
