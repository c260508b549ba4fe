"""The enrich stage: the stream consumer and its event source mapping, exactly as the topology declares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from aws_cdk import Duration
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.data import DataStores
from infra.components.functions import PipelineFunction
from infra.components.permissions import (
    GLUE_READ,
    GLUE_WRITE,
    OBJECT_DELETE,
    OBJECT_READ,
    OBJECT_WRITE,
    TABLE_BATCH_WRITE,
    TABLE_READ,
    TABLE_WRITE,
    allow_objects,
    allow_secrets,
    allow_table,
)
from infra.components.secrets import PipelineSecrets
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.settings import Settings, env_name
from reviva.topology import STREAM_MAPPINGS, StreamMappingSpec, function_spec


class EnrichStage(Construct):
    """The consumer: reads the stream, writes visitors, counters, the lake and rejected records."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        data: DataStores,
        streams: dict[str, kinesis.Stream],
        queues: dict[str, sqs.Queue],
        secrets: PipelineSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PipelineFunction(
            self,
            "Enrich",
            spec=function_spec("enrich"),
            config=config,
            layers=layers,
            environment={
                **data.table_environment("visitors", "identities", "counters", "rejected"),
                **data.lake_environment(),
                **secrets.arn_environment("pseudonymization_key"),
            },
        )
        handler = self.handler
        mark(handler.function, "function", "enrich")
        for logical in ("visitors", "identities", "counters"):
            allow_table(handler, data.tables[logical], TABLE_READ, TABLE_WRITE)
        allow_table(handler, data.tables["rejected"], ("dynamodb:DescribeTable",), TABLE_BATCH_WRITE)
        allow_objects(
            handler, data.buckets["lake"], OBJECT_READ, OBJECT_WRITE, OBJECT_DELETE, prefix="warehouse/"
        )
        handler.allow([*GLUE_READ, *GLUE_WRITE], data.glue_arns())
        allow_secrets(handler, secrets.pseudonymization_key)

        self.mappings: dict[str, lambda_.EventSourceMapping] = {}
        self.consumers: dict[str, kinesis.StreamConsumer] = {}
        for mapping in STREAM_MAPPINGS:
            if mapping.function != "enrich":
                raise ValueError(f"no stage builds a mapping to {mapping.function}")
            queue = queues[mapping.on_failure_queue]
            handler.add_environment(env_name(Settings, "dead_letter_queue_url"), queue.queue_url)
            if config.batching_window_seconds is not None:
                mapping = replace(mapping, max_batching_window_seconds=config.batching_window_seconds)
            source = self._event_source(mapping, streams[mapping.stream], queue, config.enhanced_fan_out)
            handler.function.add_event_source(source)
            self.mappings[mapping.stream] = self._mapping_of(handler.function)
            mark(self.mappings[mapping.stream], "mapping", f"{mapping.stream}->{mapping.function}")

    def _event_source(
        self, mapping: StreamMappingSpec, stream: kinesis.Stream, queue: sqs.IQueue, fan_out: bool
    ) -> sources.KinesisEventSource | sources.KinesisConsumerEventSource:
        options = {
            "starting_position": lambda_.StartingPosition[mapping.starting_position],
            "batch_size": mapping.batch_size,
            "max_batching_window": Duration.seconds(mapping.max_batching_window_seconds),
            "parallelization_factor": mapping.parallelization_factor,
            "bisect_batch_on_error": mapping.bisect_batch_on_error,
            "retry_attempts": mapping.maximum_retry_attempts,
            "max_record_age": Duration.seconds(mapping.maximum_record_age_seconds),
            "report_batch_item_failures": mapping.report_batch_item_failures,
            "on_failure": sources.SqsDlq(queue),
        }
        if fan_out:
            # Enhanced fan-out: a dedicated 2 MB/s per shard pipe pushed to the function (sub-second).
            consumer = kinesis.StreamConsumer(
                self,
                f"{mapping.stream.title()}Consumer",
                stream=stream,
                stream_consumer_name=f"{mapping.function}",
            )
            self.consumers[mapping.stream] = consumer
            return sources.KinesisConsumerEventSource(consumer, **options)  # type: ignore[arg-type]
        return sources.KinesisEventSource(stream, **options)  # type: ignore[arg-type]

    @staticmethod
    def _mapping_of(function: lambda_.Function) -> lambda_.EventSourceMapping:
        found = [c for c in function.node.children if isinstance(c, lambda_.EventSourceMapping)]
        if len(found) != 1:
            raise RuntimeError("expected exactly one event source mapping on the consumer")
        return found[0]
