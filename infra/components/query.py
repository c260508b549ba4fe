"""The query stage: the dashboard and operator API's function (DynamoDB live reads, Athena on the lake)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.data import DataStores
from infra.components.functions import PipelineFunction
from infra.components.permissions import (
    ATHENA_QUERY,
    GLUE_READ,
    OBJECT_READ,
    OBJECT_WRITE,
    TABLE_READ,
    allow_objects,
    allow_secrets,
    allow_table,
)
from infra.components.secrets import PipelineSecrets
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.topology import function_spec


class QueryStage(Construct):
    """Read-only on the stores; Athena in its own workgroup, results in the results bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        data: DataStores,
        secrets: PipelineSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PipelineFunction(
            self,
            "Query",
            spec=function_spec("query"),
            config=config,
            layers=layers,
            environment={
                **data.table_environment("visitors", "identities", "counters", "rejected"),
                **data.lake_environment(),
                **data.athena_environment(),
                **secrets.arn_environment("pseudonymization_key"),
                # Requests without CloudFront's origin header are refused (they bypassed its WAF).
                **secrets.arn_environment("origin_verify"),
            },
        )
        handler = self.handler
        mark(handler.function, "function", "query")
        for logical in ("visitors", "identities", "counters", "rejected"):
            allow_table(handler, data.tables[logical], TABLE_READ)
        allow_objects(handler, data.buckets["lake"], OBJECT_READ, prefix="warehouse/")
        # Daily rollups and imported ad spend (reviva/adapters/object_store.py) live under analytics/.
        allow_objects(handler, data.buckets["lake"], OBJECT_READ, OBJECT_WRITE, prefix="analytics/")
        allow_objects(handler, data.buckets["athena-results"], OBJECT_READ, OBJECT_WRITE, prefix="results/")
        handler.allow(list(GLUE_READ), data.glue_arns())
        handler.allow(list(ATHENA_QUERY), [data.workgroup_arn()])
        allow_secrets(handler, secrets.pseudonymization_key, secrets.origin_verify)
