"""Explicit IAM action lists (no wildcard actions on data resources), shared by the stages."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.components.functions import PipelineFunction
from infra.components.nag import acknowledge

TABLE_READ = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem")
TABLE_BATCH_WRITE = ("dynamodb:BatchWriteItem",)
TABLE_DELETE = ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
OBJECT_READ = ("s3:GetObject",)
OBJECT_WRITE = ("s3:PutObject", "s3:AbortMultipartUpload")
OBJECT_DELETE = ("s3:DeleteObject",)
BUCKET_LIST = ("s3:ListBucket", "s3:GetBucketLocation")
GLUE_READ = ("glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions")
GLUE_WRITE = ("glue:CreateTable", "glue:UpdateTable", "glue:CreateDatabase")
ATHENA_QUERY = (
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
    "athena:GetWorkGroup",
)
SECRET_READ = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def allow_table(function: PipelineFunction, table: dynamodb.ITable, *groups: tuple[str, ...]) -> None:
    """Grant the listed action groups on one table (and nothing on its indexes unless it has any)."""
    actions = sorted({action for group in groups for action in group})
    function.allow(actions, [table.table_arn])


def allow_objects(
    function: PipelineFunction, bucket: s3.IBucket, *groups: tuple[str, ...], prefix: str = ""
) -> None:
    """Grant object actions under one bucket (or one prefix of it), plus listing the bucket."""
    actions = sorted({action for group in groups for action in group})
    function.allow(actions, [bucket.arn_for_objects(f"{prefix}*")])
    function.allow(list(BUCKET_LIST), [bucket.bucket_arn])
    acknowledge(
        function.role,
        f"AwsSolutions-IAM5[Resource::<{_logical(bucket)}.Arn>/{prefix}*]",
        "Object keys are written at run time (Iceberg data files, model versions, query results); "
        "access is limited to this one bucket and prefix, with explicit actions.",
    )


def allow_secrets(function: PipelineFunction, *secrets: secretsmanager.ISecret) -> None:
    """Grant reading exactly these secrets."""
    function.allow(list(SECRET_READ), [secret.secret_arn for secret in secrets])


def _logical(bucket: s3.IBucket) -> str:
    from aws_cdk import Stack

    child = bucket.node.default_child
    return Stack.of(bucket).get_logical_id(child)  # type: ignore[arg-type]
