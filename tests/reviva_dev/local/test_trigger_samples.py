"""The trigger samples in events/samples/triggers are what AWS sends and what our contracts accept."""

from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, KinesisDataStreamModel

from reviva.contracts.events import CollectedEvent

TRIGGERS = Path(__file__).resolve().parents[3] / "events" / "samples" / "triggers"


def test_kinesis_sample_carries_collected_events() -> None:
    event = KinesisDataStreamModel.model_validate(json.loads((TRIGGERS / "kinesis_batch.json").read_text()))
    assert event.Records
    for record in event.Records:
        assert isinstance(record.kinesis.data, bytes)
        collected = CollectedEvent.model_validate_json(record.kinesis.data)
        assert collected.visitor_key == record.kinesis.partitionKey
        assert record.eventID == f"{record.eventID.split(':')[0]}:{record.kinesis.sequenceNumber}"


def test_schedule_sample_is_a_scheduled_event() -> None:
    event = EventBridgeModel.model_validate(json.loads((TRIGGERS / "schedule.json").read_text()))
    assert event.detail_type == "Scheduled Event" and event.source == "aws.events"
