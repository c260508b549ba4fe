"""Enrich Lambda: a Kinesis consumer with partial batch failure reporting."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from reviva.composition import current_composition
from reviva.enrich.bots import warm_up
from reviva.enrich.service import process_batch
from reviva.enrich.stream_records import records_from_trigger

# The user-agent parsers are built in the init phase, not inside the first batch (no AWS call).
warm_up()

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


class RedeliveryRequested(Exception):
    """A record whose visitor could not be written in this attempt."""


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Enrich the batch as a whole, then report the records Lambda must redeliver."""
    outcome = process_batch(records_from_trigger(event), current_composition().enrich)
    for name, value in outcome.stats.items():
        metrics.add_metric(name=f"enrich_{name}", unit=MetricUnit.Count, value=value)
    failed = frozenset(outcome.failed_sequence_numbers)

    def report(record: KinesisStreamRecord) -> None:
        if record.kinesis.sequence_number in failed:
            raise RedeliveryRequested(record.kinesis.sequence_number)

    response = process_partial_response(
        event=event, record_handler=report, processor=processor, context=context
    )
    return dict(response)
