"""Template assertions on the properties that matter (one synth per session, see conftest)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.components.edge import api_path_patterns
from infra.components.topology_tags import METADATA_KEY
from reviva.adapters.dynamodb.tables import TABLE_MODELS
from reviva.topology import FUNCTIONS, ROUTES, SCHEDULES, STATE_MACHINES, STREAM_MAPPINGS
from reviva.workflows import definition_text
from reviva_dev.local.runtime import scheduled_event
from tests.infra.conftest import Synthesized

# Actions that AWS supports on no resource but "*".
RESOURCE_STAR_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
DATA_SERVICES = ("dynamodb:", "s3:", "kinesis:", "sqs:", "glue:", "athena:", "secretsmanager:")
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def by_marker(synth: Synthesized, marker: str) -> tuple[str, dict[str, Any]]:
    found = [
        (k, v)
        for k, v in synth.template["Resources"].items()
        if v.get("Metadata", {}).get(METADATA_KEY) == marker
    ]
    assert len(found) == 1, f"{marker}: {len(found)} resources"
    return found[0]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_stream_mapping_reports_batch_failures_and_dead_letters_exactly_as_declared(
    synthesized: Synthesized,
) -> None:
    for spec in STREAM_MAPPINGS:
        _, mapping = by_marker(synthesized, f"mapping/{spec.stream}->{spec.function}")
        queue_id, _ = by_marker(synthesized, f"queue/{spec.on_failure_queue}")
        stream_id, _ = by_marker(synthesized, f"stream/{spec.stream}")
        function_id, _ = by_marker(synthesized, f"function/{spec.function}")
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert props["EventSourceArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
        assert props["FunctionName"] == {"Ref": function_id}
        assert props["BatchSize"] == spec.batch_size
        assert props["MaximumBatchingWindowInSeconds"] == spec.max_batching_window_seconds
        assert props["ParallelizationFactor"] == spec.parallelization_factor
        assert props["BisectBatchOnFunctionError"] is spec.bisect_batch_on_error
        assert props["MaximumRetryAttempts"] == spec.maximum_retry_attempts
        assert props["MaximumRecordAgeInSeconds"] == spec.maximum_record_age_seconds
        assert props["StartingPosition"] == spec.starting_position


def test_stream_is_on_demand_and_encrypted(synthesized: Synthesized) -> None:
    _, stream = by_marker(synthesized, "stream/events")
    assert stream["Properties"]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert stream["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"


def test_tables_follow_their_models_with_ttl_pitr_and_encryption(synthesized: Synthesized) -> None:
    for logical, model in TABLE_MODELS.items():
        _, table = by_marker(synthesized, f"table/{logical}")
        props = table["Properties"]
        schema = model._get_schema()
        assert props["KeySchema"] == [
            {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema["key_schema"]
        ]
        assert sorted(props["AttributeDefinitions"], key=str) == sorted(
            schema["attribute_definitions"], key=str
        )
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["DeletionProtectionEnabled"] is True  # prod
        assert table["DeletionPolicy"] == "Retain"


def test_buckets_are_encrypted_private_tls_only_with_retention(synthesized: Synthesized) -> None:
    policies = synthesized.resources("AWS::S3::BucketPolicy")
    tls_only = set()
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition", {}).get("Bool", {}).get(
                "aws:SecureTransport"
            ) in ("false", False):
                tls_only.add(policy["Properties"]["Bucket"]["Ref"])
    buckets = synthesized.resources("AWS::S3::Bucket")
    assert buckets
    for bucket_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket_id in tls_only, f"{bucket_id} accepts plain HTTP"
    _, lake = by_marker(synthesized, "bucket/lake")
    retention = [
        r for r in lake["Properties"]["LifecycleConfiguration"]["Rules"] if r.get("Id") == "retention"
    ]
    assert retention == [
        {
            "Id": "retention",
            "Prefix": "warehouse/reviva.db/events/data/",
            "ExpirationInDays": 760,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "Status": "Enabled",
        }
    ]


def test_functions_are_arm64_traced_json_logged_with_retention(synthesized: Synthesized) -> None:
    log_groups = synthesized.resources("AWS::Logs::LogGroup")
    for spec in FUNCTIONS:
        _, function = by_marker(synthesized, f"function/{spec.name}")
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert re.fullmatch(r"python3\.1[3-9]", props["Runtime"])
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Handler"] == f"{spec.handler_module}.handler"
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_seconds
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == f"reviva-{spec.name}"
        assert env["REVIVA_STAGE"] == "prod"
        assert "REVIVA_PSEUDONYMIZATION_KEY" not in env, "secrets are read from Secrets Manager, never env"
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[log_group_id]["Properties"]["RetentionInDays"] == 90
        assert len(props["Layers"]) == 1 + spec.uses_lake_layer + spec.uses_ml_layer
        if spec.name == "query":
            # Athena needs both the workgroup and the Glue database of the lake's events table.
            assert env["ATHENA_WORKGROUP"] and env["ATHENA_DATABASE"] == env["LAKE_NAMESPACE"]


def test_function_assets_hold_only_their_folder_and_the_shared_package(synthesized: Synthesized) -> None:
    for spec in FUNCTIONS:
        _, function = by_marker(synthesized, f"function/{spec.name}")
        asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
        root = synthesized.outdir / f"asset.{asset_hash}"
        assert sorted(p.name for p in root.iterdir()) == ["functions", "reviva"]
        assert [p.name for p in (root / "functions").iterdir()] == [spec.name]
        files = [p for p in root.rglob("*")]
        assert not [p for p in files if p.name == "__pycache__" or p.suffix == ".pyc" or p.name == "tests"]
        assert (root / "reviva" / "workflows" / "erasure.asl.json").is_file()


def test_no_wildcard_actions_and_no_wildcard_resources_on_data(synthesized: Synthesized) -> None:
    statements = [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ] + [
        statement
        for role in synthesized.resources("AWS::IAM::Role").values()
        for inline in role["Properties"].get("Policies", [])
        for statement in inline["PolicyDocument"]["Statement"]
    ]
    assert statements
    for statement in statements:
        actions = as_list(statement["Action"])
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
        resources = as_list(statement["Resource"])
        if "*" in resources:
            assert set(actions) <= RESOURCE_STAR_ACTIONS, f"{actions} on every resource"
        if any(a.startswith(DATA_SERVICES) for a in actions):
            assert "*" not in resources
    # The ingest role may only put records and write rejected rows: not read visitors, not the lake.
    ingest_role = by_marker(synthesized, "function/ingest")[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    ingest_actions = {
        a
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": ingest_role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in as_list(s["Action"])
    }
    assert "kinesis:PutRecords" in ingest_actions
    assert not {a for a in ingest_actions if a.startswith(("s3:", "glue:", "athena:"))}
    # Single-item reads and writes only on the counters table, where the cookieless daily salt lives,
    # and appending (PutItem alone) to the consent records.
    counters_arn = {"Fn::GetAtt": [by_marker(synthesized, "table/counters")[0], "Arn"]}
    consents_arn = {"Fn::GetAtt": [by_marker(synthesized, "table/consents")[0], "Arn"]}
    item_actions = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem"}
    ingest_item_statements = [
        s
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": ingest_role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if item_actions & set(as_list(s["Action"]))
    ]
    assert ingest_item_statements
    for statement in ingest_item_statements:
        if as_list(statement["Resource"]) == [consents_arn]:
            assert as_list(statement["Action"]) == ["dynamodb:PutItem"]
        else:
            assert as_list(statement["Resource"]) == [counters_arn]


def test_every_non_ingest_non_public_route_needs_the_cognito_jwt(synthesized: Synthesized) -> None:
    authorizers = synthesized.resources("AWS::ApiGatewayV2::Authorizer")
    assert [a["Properties"]["AuthorizerType"] for a in authorizers.values()] == ["JWT"]
    jwt_id = next(iter(authorizers))
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synthesized.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {f"{r.method} {r.path}" for r in ROUTES}
    for route in ROUTES:
        props = routes[f"{route.method} {route.path}"]
        if route.auth in ("write_key", "public"):
            assert props["AuthorizationType"] == "NONE"
        else:
            assert props["AuthorizationType"] == "JWT", route
            assert props["AuthorizerId"] == {"Ref": jwt_id}
    groups = {
        g["Properties"]["GroupName"] for g in synthesized.resources("AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"admin", "marketing", "compliance"}


def test_api_is_http_v2_throttled_and_reachable_only_through_cloudfront(synthesized: Synthesized) -> None:
    (api,) = synthesized.resources("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "HTTP"
    assert api["Properties"]["DisableExecuteApiEndpoint"] is True
    (stage,) = synthesized.resources("AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"]
    for integration in synthesized.resources("AWS::ApiGatewayV2::Integration").values():
        assert integration["Properties"]["PayloadFormatVersion"] == "2.0"


def test_waf_guards_ingest_at_cloudfront(synthesized: Synthesized) -> None:
    (acl,) = [
        r for r in synthesized.firewall_template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL"
    ]
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
    rate = rules["IngestRateLimit"]["Statement"]["RateBasedStatement"]
    assert rate["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/v1/"
    assert rules["IngestRateLimit"]["Action"] == {"Block": {}}
    assert "AWSManagedRulesKnownBadInputsRuleSet" in rules
    (distribution,) = synthesized.resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    lookup = json.dumps(config["WebACLId"])
    assert "Parameter.Value" in lookup  # the firewall stack's ACL, read from us-east-1
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    for pattern in api_path_patterns():
        assert behaviors[pattern]["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert behaviors[pattern]["ViewerProtocolPolicy"] == "https-only"
    api_origin = next(o for o in config["Origins"] if o["Id"] == behaviors["/v1/*"]["TargetOriginId"])
    (domain_id,) = synthesized.resources("AWS::ApiGatewayV2::DomainName")
    assert api_origin["DomainName"] == {"Ref": domain_id}  # the custom domain, not execute-api
    domain = synthesized.template["Resources"][domain_id]["Properties"]
    assert domain["DomainName"] == "api.analytics.example.com"
    assert {"/tracker/*", "/dashboard/*"} <= behaviors.keys()


def test_schedules_deliver_the_scheduled_event_the_local_runtime_sends(synthesized: Synthesized) -> None:
    for spec in SCHEDULES:
        _, rule = by_marker(synthesized, f"schedule/{spec.logical_name}")
        assert rule["Properties"]["ScheduleExpression"] == spec.expression
        (target,) = rule["Properties"]["Targets"]
        transformer = target["InputTransformer"]
        received = {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "account": "111111111111",
            "time": "2026-11-24T23:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:111111111111:rule/reviva-" + spec.logical_name],
        }
        delivered = transformer["InputTemplate"]
        for name, path in transformer["InputPathsMap"].items():
            value = received[path.removeprefix("$.")]
            # Unquoted placeholders in a JSON template receive the value as JSON (strings quoted).
            delivered = delivered.replace(f"<{name}>", json.dumps(value))
        local = scheduled_event(
            spec, region="eu-west-1", account_id="111111111111", now=datetime(2026, 11, 24, 23, tzinfo=UTC)
        )
        local["id"] = received["id"]
        assert json.loads(delivered) == local


def test_erasure_state_machine_is_the_shared_definition(synthesized: Synthesized) -> None:
    machines = {
        r["Metadata"][METADATA_KEY]
        for r in synthesized.resources("AWS::StepFunctions::StateMachine").values()
        if METADATA_KEY in r.get("Metadata", {})
    }
    assert machines == {f"statemachine/{spec.logical_name}" for spec in STATE_MACHINES}
    _, machine = by_marker(synthesized, "statemachine/erasure")
    props = machine["Properties"]
    # The very text local tests execute; CloudFormation binds the ARN through the substitutions.
    assert props["DefinitionString"] == definition_text("erasure")
    assert "${ErasureFunctionArn}" in props["DefinitionString"]
    assert set(props["DefinitionSubstitutions"]) == {"ErasureFunctionArn"}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_alarms_cover_ingest_stream_dead_letters_enrich_and_erasure(synthesized: Synthesized) -> None:
    alarms = synthesized.resources("AWS::CloudWatch::Alarm").values()
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/States", "ExecutionsFailed"),
    } <= metrics
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    assert synthesized.resources("AWS::CloudWatch::Dashboard")


def test_outputs_name_the_ingest_tracker_and_dashboard_urls(synthesized: Synthesized) -> None:
    outputs = synthesized.template["Outputs"]
    assert {"IngestUrl", "TrackerUrl", "DashboardUrl"} <= outputs.keys()


def test_templates_are_cfn_lint_clean(synthesized: Synthesized) -> None:
    templates = [str(p) for p in synthesized.outdir.glob("*.template.json")]
    result = subprocess.run(
        # W3005 (a DependsOn that a Ref already implies) is how CDK orders roles before functions.
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            "-i",
            "W3005",
            "--",
            *templates,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_events_table_is_created_at_deploy_time_by_the_pipelines_own_code(
    synthesized: Synthesized,
) -> None:
    (trigger,) = synthesized.resources("Custom::Trigger").values()
    depends = set(trigger["DependsOn"])
    database_id = next(iter(synthesized.resources("AWS::Glue::Database")))
    lake_id, _ = by_marker(synthesized, "bucket/lake")
    assert {database_id, lake_id} <= depends
    functions = synthesized.resources("AWS::Lambda::Function")
    (setup,) = [
        f for f in functions.values() if f["Properties"].get("Handler") == "infra.handlers.lake_table.handler"
    ]
    env = setup["Properties"]["Environment"]["Variables"]
    assert env["LAKE_CATALOG"] == "glue"
    assert (
        env["LAKE_NAMESPACE"]
        == synthesized.resources("AWS::Glue::Database")[database_id]["Properties"]["DatabaseInput"]["Name"]
    )
    (workgroup,) = synthesized.resources("AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] > 0
    assert configuration["ResultConfiguration"]["OutputLocation"]


def rendered(value: Any) -> str:
    """A template string value with each intrinsic function replaced by a readable marker.

    `{"Ref": "X"}` becomes `@Ref:X@` and `{"Fn::GetAtt": ["X", "Y"]}` becomes `@X.Y@`, so a JSON
    document CloudFormation assembles with Fn::Join can be parsed and compared here.
    """
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(rendered(part) for part in parts)
    if "Ref" in value:
        return f"@Ref:{value['Ref']}@"
    if "Fn::GetAtt" in value:
        return "@{}.{}@".format(*value["Fn::GetAtt"])
    raise AssertionError(f"cannot render {value}")


def test_dashboard_signs_in_through_the_hosted_ui_with_a_public_pkce_client(synthesized: Synthesized) -> None:
    (client_id, client) = next(iter(synthesized.resources("AWS::Cognito::UserPoolClient").items()))
    props = client["Properties"]
    distribution_id = next(iter(synthesized.resources("AWS::CloudFront::Distribution")))
    dashboard_url = f"https://@{distribution_id}.DomainName@/dashboard/"
    # A browser app keeps no secret: code grant only (the dashboard always adds a PKCE challenge).
    assert props["GenerateSecret"] is False
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid"]
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert [rendered(url) for url in props["CallbackURLs"]] == [dashboard_url]
    assert [rendered(url) for url in props["LogoutURLs"]] == [dashboard_url]
    # The hosted UI's prefix: the stage and the stack's own id, never an account number.
    (domain_id, domain) = next(iter(synthesized.resources("AWS::Cognito::UserPoolDomain").items()))
    prefix = json.dumps(domain["Properties"]["Domain"])
    assert "reviva-prod" in prefix and "AWS::StackId" in prefix and "111111111111" not in prefix
    outputs = synthesized.template["Outputs"]
    assert rendered(outputs["DashboardUrl"]["Value"]) == dashboard_url
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": client_id}
    assert outputs["UserPoolId"]["Value"] == {"Ref": props["UserPoolId"]["Ref"]}
    hosted_ui = rendered(outputs["HostedUiUrl"]["Value"])
    assert hosted_ui == f"https://@Ref:{domain_id}@.auth.eu-west-1.amazoncognito.com"
    groups = synthesized.resources("AWS::Cognito::UserPoolGroup").values()
    assert {g["Properties"]["UserPoolId"]["Ref"] for g in groups} == {props["UserPoolId"]["Ref"]}


def test_the_stack_writes_the_dashboard_s_cognito_config_and_may_write_nothing_else(
    synthesized: Synthesized,
) -> None:
    from infra.components.dashboard_config import DASHBOARD_CONFIG_KEY
    from infra.publish_site import STACK_OWNED_KEYS

    (writer,) = [
        r for r in synthesized.resources("Custom::AWS").values() if "putObject" in json.dumps(r["Properties"])
    ]
    call = json.loads(rendered(writer["Properties"]["Create"]))
    assert json.loads(rendered(writer["Properties"]["Update"])) == call
    site_id, _ = by_marker(synthesized, "bucket/site")
    params = call["parameters"]
    assert (params["Bucket"], params["Key"]) == (f"@Ref:{site_id}@", DASHBOARD_CONFIG_KEY)
    config = json.loads(params["Body"])
    client_id = next(iter(synthesized.resources("AWS::Cognito::UserPoolClient")))
    domain_id = next(iter(synthesized.resources("AWS::Cognito::UserPoolDomain")))
    distribution_id = next(iter(synthesized.resources("AWS::CloudFront::Distribution")))
    assert config["auth"] == {
        "provider": "cognito",
        "domain": f"https://@Ref:{domain_id}@.auth.eu-west-1.amazoncognito.com",
        "clientId": f"@Ref:{client_id}@",
        "redirectUri": f"https://@{distribution_id}.DomainName@/dashboard/",
        "scopes": "openid email",
        "tokenUse": "id",
    }
    assert config["apiBaseUrl"] == ""  # same origin behind CloudFront
    # The publisher skips the key, or `make deploy` would put the build's local defaults back.
    assert DASHBOARD_CONFIG_KEY in STACK_OWNED_KEYS
    put_statements = [
        s
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:PutObject" in as_list(s["Action"])
        and any(f"@{site_id}.Arn@" in rendered(r) for r in as_list(s["Resource"]))
    ]
    assert [as_list(s["Resource"]) for s in put_statements] == [
        [{"Fn::Join": ["", [{"Fn::GetAtt": [site_id, "Arn"]}, f"/{DASHBOARD_CONFIG_KEY}"]]}]
    ]


def test_every_function_logs_platform_warnings_only_and_its_stage_s_application_level(
    synthesized: Synthesized,
) -> None:
    for spec in FUNCTIONS:
        _, function = by_marker(synthesized, f"function/{spec.name}")
        props = function["Properties"]
        logging = props["LoggingConfig"]
        assert logging["SystemLogLevel"] == "WARN", spec.name
        # Not WARN: Powertools' metric lines carry no level, so Lambda files them as INFO.
        assert logging["ApplicationLogLevel"] == "INFO", spec.name
        assert props["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_cloudfront_proves_itself_to_ingest_with_a_generated_secret(synthesized: Synthesized) -> None:
    from reviva.origin_verify import ORIGIN_VERIFY_HEADER

    (distribution,) = synthesized.resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    behavior = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/v1/*")
    origin = next(o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"])
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_VERIFY_HEADER
    secrets = synthesized.resources("AWS::SecretsManager::Secret")
    (secret_id,) = [k for k, v in secrets.items() if "CloudFront adds" in v["Properties"]["Description"]]
    assert secrets[secret_id]["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    # A dynamic reference CloudFormation resolves at deploy time: the value is never in the template.
    assert (
        rendered(header["HeaderValue"]) == f"{{{{resolve:secretsmanager:@Ref:{secret_id}@:SecretString:::}}}}"
    )
    checkers = [by_marker(synthesized, f"function/{name}")[1] for name in ("ingest", "query")]
    for function in checkers:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["REVIVA_ORIGIN_VERIFY_SECRET_ARN"] == {"Ref": secret_id}
    readers = {
        role["Ref"]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
        and {"Ref": secret_id} in as_list(s["Resource"])
        for role in policy["Properties"]["Roles"]
    }
    assert readers == {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in checkers}


def test_dead_letter_alarms_say_how_to_replay_and_how_long_is_left(synthesized: Synthesized) -> None:
    alarms = list(synthesized.resources("AWS::CloudWatch::Alarm").values())
    age = [
        a["Properties"] for a in alarms if a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    ]
    assert len(age) == 1
    assert age[0]["Threshold"] == 12 * 3600
    assert "reviva replay-failed" in age[0]["AlarmDescription"]
    assert "leave the stream in 12 h" in age[0]["AlarmDescription"]
    depth = [
        a["Properties"]
        for a in alarms
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert any("reviva replay-failed" in d["AlarmDescription"] for d in depth)


def test_no_access_log_stores_a_visitor_s_ip_address(synthesized: Synthesized) -> None:
    """No raw IP in any log: API Gateway's access log format names none, CloudFront keeps no logs."""
    for stage in synthesized.resources("AWS::ApiGatewayV2::Stage").values():
        log_format = stage["Properties"]["AccessLogSettings"]["Format"]
        assert "sourceIp" not in log_format and "$context.identity" not in log_format
    for distribution in synthesized.resources("AWS::CloudFront::Distribution").values():
        # Standard logs record the full client address (c-ip) and cannot leave it out.
        assert "Logging" not in distribution["Properties"]["DistributionConfig"]
