"""The ingest stage: the collector function that validates events into Kinesis."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.data import DataStores
from infra.components.functions import PipelineFunction
from infra.components.permissions import TABLE_BATCH_WRITE, allow_secrets, allow_table
from infra.components.secrets import PipelineSecrets
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.settings import Settings, env_name
from reviva.topology import function_spec


class IngestStage(Construct):
    """Ingest may put records on the events stream and write rejected messages; nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        data: DataStores,
        stream: kinesis.IStream,
        secrets: PipelineSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PipelineFunction(
            self,
            "Ingest",
            spec=function_spec("ingest"),
            config=config,
            layers=layers,
            environment={
                env_name(Settings, "events_stream"): stream.stream_name,
                **data.table_environment("rejected"),
                # The cookieless daily salt lives in the counters table (adapters/dynamodb/salt_store.py).
                **data.table_environment("counters"),
                **data.table_environment("consents"),
                **secrets.arn_environment("pseudonymization_key", "write_keys"),
                # Requests without CloudFront's origin header are refused (they bypassed its WAF).
                **secrets.arn_environment("origin_verify"),
                env_name(Settings, "allowed_origins"): ",".join(config.cors_origins),
                env_name(Settings, "stream_record_format"): config.stream_record_format,
            },
        )
        mark(self.handler.function, "function", "ingest")
        self.handler.allow(["kinesis:PutRecords", "kinesis:PutRecord"], [stream.stream_arn])
        allow_table(self.handler, data.tables["rejected"], ("dynamodb:DescribeTable",), TABLE_BATCH_WRITE)
        # Create today's salt, read it, and delete yesterday's when the day rotates.
        allow_table(
            self.handler,
            data.tables["counters"],
            ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem"),
        )
        # Consent records are appended, never read or changed by ingest.
        allow_table(self.handler, data.tables["consents"], ("dynamodb:PutItem",))
        allow_secrets(self.handler, secrets.pseudonymization_key, secrets.write_keys, secrets.origin_verify)
