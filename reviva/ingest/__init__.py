"""The ingest stage: Segment messages in, pseudonymized events onto the stream (no HTTP here)."""

from reviva.ingest.collector import BuiltBatch, Collector, CollectOutcome, RequestContext
from reviva.ingest.ports import EventPublisher, FailedRecord, PublishResult, RejectedStore, Rejection

__all__ = [
    "BuiltBatch",
    "CollectOutcome",
    "Collector",
    "EventPublisher",
    "FailedRecord",
    "PublishResult",
    "RejectedStore",
    "Rejection",
    "RequestContext",
]
