"""The stream stage: the Kinesis events stream and the topology's queues."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.nag import acknowledge
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.topology import EVENTS_STREAM, QUEUES, STREAM_MAPPINGS

# SQS keeps messages at most 14 days.
MAX_QUEUE_RETENTION_DAYS = 14


class EventStream(Construct):
    """Kinesis (on-demand unless `kinesisShards` is set) and the dead-letter queues."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        declared = {EVENTS_STREAM.logical_name: EVENTS_STREAM}
        unknown = {m.stream for m in STREAM_MAPPINGS} - declared.keys()
        if unknown:
            raise ValueError(f"stream mappings name undeclared streams: {sorted(unknown)}")
        self.streams: dict[str, kinesis.Stream] = {}
        for logical, spec in declared.items():
            provisioned = config.kinesis_shards is not None
            stream = kinesis.Stream(
                self,
                f"{logical.title()}Stream",
                stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
                shard_count=config.kinesis_shards if provisioned else None,
                retention_period=Duration.hours(spec.retention_hours),
                encryption=kinesis.StreamEncryption.MANAGED,
                removal_policy=config.removal_policy,
            )
            mark(stream, "stream", logical)
            self.streams[logical] = stream
        self.queues: dict[str, sqs.Queue] = {}
        for queue_spec in QUEUES:
            queue = sqs.Queue(
                self,
                "".join(p.title() for p in queue_spec.logical_name.split("-")) + "Queue",
                retention_period=Duration.days(min(queue_spec.retention_days, MAX_QUEUE_RETENTION_DAYS)),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                removal_policy=config.removal_policy,
            )
            acknowledge(
                queue,
                "AwsSolutions-SQS3",
                "This queue is itself the stream mapping's dead-letter destination; it has none of its own.",
            )
            mark(queue, "queue", queue_spec.logical_name)
            self.queues[queue_spec.logical_name] = queue
