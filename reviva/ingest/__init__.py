"""The ingest stage: Segment HTTP Tracking API requests in, pseudonymized events onto the stream."""

from reviva.ingest.publisher import EventPublisher, FailedRecord, KinesisPublisher, PublishResult
from reviva.ingest.rejected import RejectedRepository, RejectedStore, Rejection
from reviva.ingest.service import (
    IngestConfig,
    IngestRequest,
    IngestResponse,
    IngestService,
    RequestContext,
    source_id_for,
)

__all__ = [
    "EventPublisher",
    "FailedRecord",
    "IngestConfig",
    "IngestRequest",
    "IngestResponse",
    "IngestService",
    "KinesisPublisher",
    "PublishResult",
    "RejectedRepository",
    "RejectedStore",
    "Rejection",
    "RequestContext",
    "source_id_for",
]
