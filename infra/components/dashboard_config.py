"""The dashboard's runtime configuration (`/dashboard/config.json`), written by the stack at deploy time.

The dashboard reads `config.json` beside its index.html (dashboard/src/config.ts); the build ships
the local default (token sign-in). In AWS the stack writes the Cognito hosted UI, app client and
callback URL there, values that only exist once the stack does. `infra/publish_site.py` never
overwrites this key.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

# The object key the stack owns in the site bucket: the dashboard is served under /dashboard/.
DASHBOARD_CONFIG_KEY = "dashboard/config.json"


def dashboard_config(*, hosted_ui_url: str, client_id: str, dashboard_url: str) -> dict[str, Any]:
    """The dashboard's config.json for Cognito sign-in (the shape of dashboard/src/config.ts)."""
    return {
        # Same origin: CloudFront routes the API's paths beside the dashboard.
        "apiBaseUrl": "",
        "auth": {
            "provider": "cognito",
            "domain": hosted_ui_url,
            "clientId": client_id,
            # Must equal the app client's callback URL exactly, whatever path the page was opened at.
            "redirectUri": dashboard_url,
            # The app client allows exactly these; the dashboard's default also asks for "profile".
            "scopes": "openid email",
            "tokenUse": "id",
        },
        "realtimeRefreshSeconds": 10,
    }


class DashboardConfig(Construct):
    """One deploy-time S3 PutObject of the config (CDK's AwsCustomResource; no bucket deployment,
    whose role would get wildcard S3 actions on the whole bucket)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, site_bucket: s3.IBucket, config: dict[str, Any]
    ) -> None:
        super().__init__(scope, construct_id)
        body = Stack.of(self).to_json_string(config)
        call = cr.AwsSdkCall(
            service="S3",
            action="putObject",
            parameters={
                "Bucket": site_bucket.bucket_name,
                "Key": DASHBOARD_CONFIG_KEY,
                "Body": body,
                "ContentType": "application/json",
                # CloudFront keeps it only for its minimum TTL: a redeploy's new values show at once.
                "CacheControl": "no-cache",
            },
            physical_resource_id=cr.PhysicalResourceId.of(DASHBOARD_CONFIG_KEY),
        )
        self.writer = cr.AwsCustomResource(
            self,
            "Writer",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["s3:PutObject"],
                        resources=[site_bucket.arn_for_objects(DASHBOARD_CONFIG_KEY)],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
