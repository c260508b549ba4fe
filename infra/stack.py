"""The pipeline stack: every stage, built from the topology declarations."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.api import ApiStage
from infra.components.dashboard_config import DashboardConfig, dashboard_config
from infra.components.data import DataStores
from infra.components.edge import EdgeStage
from infra.components.enrich import EnrichStage
from infra.components.erasure import ErasureStage
from infra.components.firewall import WebAclLookup
from infra.components.functions import ARCHITECTURE, RUNTIME, PipelineFunction
from infra.components.ingest import IngestStage
from infra.components.lake import LakeTable
from infra.components.monitoring import Monitoring
from infra.components.nag import acknowledge
from infra.components.query import QueryStage
from infra.components.scoring import ScheduleRules, ScoringStage
from infra.components.secrets import PipelineSecrets
from infra.components.stream import EventStream
from infra.config import StageConfig
from infra.layer_plan import LAYER_NAMES, layers_for
from reviva.topology import FUNCTIONS, FunctionSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYERS_BUILD_DIR = REPO_ROOT / "build" / "layers"


class LayerMissing(Exception):
    """A layer was not built (`make layers`) and the app was not told to use placeholders."""


def layer_code(name: str, source: str) -> lambda_.Code:
    """The layer's code by `layerSource` context: "build" (build/layers/<name>, required), "recipe"
    (its recipe folder, a placeholder for offline synth and tests) or "auto" (built if it exists)."""
    built = LAYERS_BUILD_DIR / name
    if source not in ("build", "recipe", "auto"):
        raise ValueError(f"layerSource must be build, recipe or auto, not {source!r}")
    if source != "recipe" and (built / "python").is_dir():
        return lambda_.Code.from_asset(str(built))
    if source == "build":
        raise LayerMissing(
            f"layer {name!r} is not built: run `make layers` (or synth with -c layerSource=auto)"
        )
    return lambda_.Code.from_asset(str(REPO_ROOT / "layers" / name))


class RevivaStack(Stack):
    """Ingest → Kinesis → enrich → DynamoDB + lake; query, score and erasure; edge, identity, operations."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, layer_source: str, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.layers = {
            name: lambda_.LayerVersion(
                self,
                f"{name.title()}Layer",
                code=layer_code(name, layer_source),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=f"reviva {name} dependencies (layers/{name}/requirements.txt, arm64 wheels)",
            )
            for name in LAYER_NAMES
        }
        data = DataStores(self, "Data", config=config)
        stream = EventStream(self, "Stream", config=config)
        secrets = PipelineSecrets(self, "Secrets", config=config)

        ingest = IngestStage(
            self,
            "Ingest",
            config=config,
            layers=self._layers_for("ingest"),
            data=data,
            stream=stream.streams["events"],
            secrets=secrets,
        )
        enrich = EnrichStage(
            self,
            "Enrich",
            config=config,
            layers=self._layers_for("enrich"),
            data=data,
            streams=stream.streams,
            queues=stream.queues,
            secrets=secrets,
        )
        query = QueryStage(
            self, "Query", config=config, layers=self._layers_for("query"), data=data, secrets=secrets
        )
        scoring = ScoringStage(self, "Scoring", config=config, layers=self._layers_for("score"), data=data)
        erasure = ErasureStage(
            self, "Erasure", config=config, layers=self._layers_for("erasure"), data=data, secrets=secrets
        )
        self.lake_table = LakeTable(
            self, "LakeTable", config=config, data=data, layers=[self.layers["base"], self.layers["lake"]]
        )
        self.functions: dict[str, PipelineFunction] = {
            "ingest": ingest.handler,
            "enrich": enrich.handler,
            "query": query.handler,
            "score": scoring.handler,
            "erasure": erasure.handler,
        }
        missing = {spec.name for spec in FUNCTIONS} - self.functions.keys()
        if missing:
            raise ValueError(f"declared functions no stage builds: {sorted(missing)}")
        for function in self.functions.values():
            acknowledge(
                function.role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
            )

        ScheduleRules(self, "Schedules", functions={name: f.function for name, f in self.functions.items()})
        api = ApiStage(
            self, "Api", config=config, functions={name: f.function for name, f in self.functions.items()}
        )
        firewall = WebAclLookup(self, "EdgeFirewall", config=config)
        edge = EdgeStage(
            self,
            "Edge",
            config=config,
            site_bucket=data.buckets["site"],
            api_domain=api.origin_domain,
            web_acl_arn=firewall.web_acl_arn,
            origin_verify=secrets.origin_verify,
        )
        base = f"https://{edge.domain_name}"
        dashboard_url = f"{base}/dashboard/"
        api.sign_in_at(dashboard_url)
        DashboardConfig(
            self,
            "DashboardConfig",
            site_bucket=data.buckets["site"],
            config=dashboard_config(
                hosted_ui_url=api.hosted_ui_url,
                client_id=api.dashboard_client.user_pool_client_id,
                dashboard_url=dashboard_url,
            ),
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            api=api.api,
            api_stage=api.stage,
            ingest=ingest.handler.function,
            enrich=enrich.handler.function,
            dead_letters=stream.queues["enrich-dead-letter"],
            erasure=erasure.state_machines["erasure"],
        )

        CfnOutput(self, "IngestUrl", value=f"{base}/v1/batch", description="POST Segment batches here")
        CfnOutput(self, "TrackerUrl", value=f"{base}/tracker/", description="the tracker script's folder")
        CfnOutput(self, "DashboardUrl", value=dashboard_url, description="the dashboard")
        CfnOutput(self, "SiteBucketName", value=data.buckets["site"].bucket_name)
        CfnOutput(self, "DistributionId", value=edge.distribution.distribution_id)
        CfnOutput(self, "UserPoolId", value=api.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=api.dashboard_client.user_pool_client_id)
        CfnOutput(
            self, "HostedUiUrl", value=api.hosted_ui_url, description="Cognito sign-in for the dashboard"
        )
        CfnOutput(self, "WriteKeysSecretArn", value=secrets.write_keys.secret_arn)
        CfnOutput(self, "ErasureStateMachineArn", value=erasure.state_machines["erasure"].state_machine_arn)

    def _layers_for(self, name: str) -> list[lambda_.ILayerVersion]:
        spec: FunctionSpec = next(s for s in FUNCTIONS if s.name == name)
        return [self.layers[layer] for layer in layers_for(spec)]
