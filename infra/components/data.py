"""The data stage: DynamoDB tables from the pynamodb models, S3 buckets from the topology, the Glue
database and the Athena workgroup of the lake."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from infra.components.nag import acknowledge
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.adapters.dynamodb.tables import TABLE_MODELS
from reviva.analytics.config import AnalyticsSettings
from reviva.settings import Settings, env_name
from reviva.topology import BUCKETS, BucketSpec

_KEY_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
# The Glue database is the lake's namespace: the settings' default, so the lake's paths
# (warehouse/<namespace>.db/events) are the same locally and in AWS.
LAKE_NAMESPACE: str = Settings.model_fields["lake_namespace"].default
LAKE_TABLE: str = Settings.model_fields["lake_table"].default


def _key(schema: Any, key_schema: Any, key_type: str) -> dynamodb.Attribute | None:
    types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    for key in key_schema:
        if key["KeyType"] == key_type:
            return dynamodb.Attribute(name=key["AttributeName"], type=_KEY_TYPES[types[key["AttributeName"]]])
    return None


def ttl_attribute(model: type[Model]) -> str | None:
    """The model's TTL attribute name, if it declares one."""
    for name, attribute in model.get_attributes().items():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name or name
    return None


class DataStores(Construct):
    """Tables, buckets, the Glue database and the Athena workgroup; exposes them by logical name."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.tables: dict[str, dynamodb.Table] = {
            logical: self._table(logical, model) for logical, model in TABLE_MODELS.items()
        }
        access_logs_spec = next(b for b in BUCKETS if b.logical_name == "access-logs")
        self.access_logs = self._bucket(access_logs_spec, None)
        self.buckets: dict[str, s3.Bucket] = {"access-logs": self.access_logs}
        for spec in BUCKETS:
            if spec.logical_name != "access-logs":
                self.buckets[spec.logical_name] = self._bucket(spec, self.access_logs)

        self.glue_database = glue.CfnDatabase(
            self,
            "LakeDatabase",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=LAKE_NAMESPACE,
                description="RevivaTech Analytics lake (Iceberg tables)",
                location_uri=f"s3://{self.buckets['lake'].bucket_name}/warehouse/{LAKE_NAMESPACE}.db",
            ),
        )
        results = self.buckets["athena-results"]
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=f"{config.prefix}-analytics",
            description="Dashboard and scoring queries on the lake",
            recursive_delete_option=config.stage == "dev",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Clients cannot choose another result location or skip encryption.
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=config.athena_bytes_scanned_cutoff,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )

    # ------------------------------------------------------------------ names the functions read

    def table_environment(self, *logical_names: str) -> dict[str, str]:
        """`VISITORS_TABLE=…` for each table named: the variable of the settings field `<name>_table`."""
        return {env_name(Settings, f"{n}_table"): self.tables[n].table_name for n in logical_names}

    def lake_environment(self) -> dict[str, str]:
        """What a function needs to open the Iceberg `events` table through Glue."""
        return {
            env_name(Settings, "lake_bucket"): self.buckets["lake"].bucket_name,
            env_name(Settings, "lake_catalog"): "glue",
            env_name(Settings, "lake_namespace"): LAKE_NAMESPACE,
            env_name(Settings, "lake_table"): LAKE_TABLE,
        }

    def athena_environment(self) -> dict[str, str]:
        """The Athena workgroup and the Glue database that holds the lake's `events` table."""
        return {
            env_name(AnalyticsSettings, "athena_workgroup"): self.workgroup.name,
            env_name(AnalyticsSettings, "athena_database"): LAKE_NAMESPACE,
        }

    def glue_arns(self) -> list[str]:
        """The catalog, the lake database and its tables: what a lake client may touch in Glue."""
        prefix = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        return [
            f"{prefix}:catalog",
            f"{prefix}:database/{LAKE_NAMESPACE}",
            f"{prefix}:table/{LAKE_NAMESPACE}/{LAKE_TABLE}",
        ]

    def workgroup_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:athena:{Aws.REGION}:{Aws.ACCOUNT_ID}:workgroup/{self.workgroup.name}"

    # ------------------------------------------------------------------ builders

    def _table(self, logical: str, model: type[Model]) -> dynamodb.Table:
        schema = model._get_schema()
        partition_key = _key(schema, schema["key_schema"], "HASH")
        assert partition_key is not None, f"{logical} has no hash key"
        table = dynamodb.Table(
            self,
            f"{logical.title()}Table",
            partition_key=partition_key,
            sort_key=_key(schema, schema["key_schema"], "RANGE"),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=ttl_attribute(model),
            deletion_protection=self.config.stage == "prod",
            removal_policy=self.config.removal_policy,
        )
        mark(table, "table", logical)
        for index in schema.get("global_secondary_indexes", []):
            table.add_global_secondary_index(
                index_name=index["index_name"],
                partition_key=_key(schema, index["key_schema"], "HASH"),  # type: ignore[arg-type]
                sort_key=_key(schema, index["key_schema"], "RANGE"),
                projection_type=dynamodb.ProjectionType(index["projection"]["ProjectionType"]),
            )
        return table

    def _bucket(self, spec: BucketSpec, access_logs: s3.IBucket | None) -> s3.Bucket:
        rules = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)
            )
        ]
        if spec.expire_after_days is not None:
            rules.append(
                s3.LifecycleRule(
                    id="retention",
                    prefix=spec.expire_prefix or None,
                    expiration=Duration.days(spec.expire_after_days),
                    noncurrent_version_expiration=Duration.days(7),
                )
            )
        bucket = s3.Bucket(
            self,
            "".join(part.title() for part in spec.logical_name.split("-")) + "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=spec.logical_name in ("lake", "models"),
            lifecycle_rules=rules,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"s3/{spec.logical_name}/" if access_logs is not None else None,
            # CloudFront's standard logs need ACLs on their target bucket; no other bucket has them.
            object_ownership=(
                s3.ObjectOwnership.OBJECT_WRITER
                if access_logs is None
                else s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
            ),
            removal_policy=self.config.removal_policy,
        )
        mark(bucket, "bucket", spec.logical_name)
        if access_logs is None:
            # CloudFront's standard logging still needs the log-delivery ACL CDK sets here.
            bucket.node.default_child.add_metadata(  # type: ignore[union-attr]
                "cfn-lint", {"config": {"ignore_checks": ["W3045"]}}
            )
            acknowledge(
                bucket,
                "AwsSolutions-S1",
                "This is the access-logs bucket; logging it into itself would loop.",
            )
        return bucket
