"""The API stage: the HTTP API (payload 2.0) with the topology's routes, Cognito and its JWT authorizer."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Fn, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.nag import acknowledge
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.topology import ROLES, ROUTES, RouteSpec

ACCESS_LOG_FORMAT = (
    # No `$context.identity.sourceIp`: a raw IP address may not be stored in any log.
    '{"requestId":"$context.requestId","routeKey":"$context.routeKey",'
    '"status":"$context.status","latency":"$context.responseLatency",'
    '"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error"}'
)


class ApiStage(Construct):
    """Routes from `ROUTES`: "signed_in" routes need a Cognito JWT; ingest checks its write key itself.

    The authorizer only authenticates: the query function checks the route's roles (the same
    declaration) against the token's groups.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: dict[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            removal_policy=RemovalPolicy.RETAIN if config.stage == "prod" else RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG3",
            "Threat protection needs the Plus feature plan (billed per user); staff accounts are few, "
            "MFA is required and sign-up is closed.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan is billed per user for threat protection; see AwsSolutions-COG3.",
        )
        for role in ROLES:
            cognito.CfnUserPoolGroup(
                self, f"{role.title()}Group", user_pool_id=self.user_pool.user_pool_id, group_name=role
            )
        # The hosted UI the dashboard signs in through. Its prefix must be unique in the region across
        # all of AWS: by default the stage plus the first block of this stack's own UUID, so nothing
        # names an account and two deployments never collide (`-c authDomainPrefix=` overrides).
        stack_uuid_head = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
        self.hosted_ui = self.user_pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=config.auth_domain_prefix or Fn.join("-", [config.prefix, stack_uuid_head])
            ),
        )
        # A public client (a browser app cannot keep a secret): authorization code grant, which the
        # dashboard always sends with a PKCE challenge (dashboard/src/auth.ts). Its callback and logout
        # URLs are the dashboard on CloudFront, known only once the distribution exists: see
        # `sign_in_at`, which the stack calls after building the edge.
        self.dashboard_client = self.user_pool.add_client(
            "Dashboard",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
        )
        self.authorizer = authorizers.HttpUserPoolAuthorizer(
            "CognitoJwt", self.user_pool, user_pool_clients=[self.dashboard_client]
        )

        custom_domain = None
        if config.api_domain_name and config.api_certificate_arn:
            custom_domain = apigw.DomainName(
                self,
                "Domain",
                domain_name=config.api_domain_name,
                certificate=acm.Certificate.from_certificate_arn(
                    self, "Certificate", config.api_certificate_arn
                ),
            )
        self.api = apigw.HttpApi(
            self,
            "HttpApi",
            description=f"RevivaTech Analytics ({config.stage})",
            create_default_stage=False,
            # With a custom domain, the execute-api URL is turned off: only CloudFront (and its WAF)
            # reaches the API. Without one CloudFront needs the execute-api URL as its origin.
            disable_execute_api_endpoint=custom_domain is not None,
        )
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=config.throttle_rate, burst_limit=config.throttle_burst
            ),
            domain_mapping=apigw.DomainMappingOptions(domain_name=custom_domain) if custom_domain else None,
        )
        cfn_stage = self.stage.node.default_child
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(  # type: ignore[union-attr]
            destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        self.origin_domain: str = (
            custom_domain.name
            if custom_domain is not None
            else f"{self.api.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        )

        integrations_by_function = {
            name: integrations.HttpLambdaIntegration(
                f"{name.title()}Integration",
                function,
                payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0,
            )
            for name, function in functions.items()
        }
        self.routes: dict[str, apigw.HttpRoute] = {}
        for route in ROUTES:
            self.routes[f"{route.method} {route.path}"] = self._route(route, integrations_by_function)

    @property
    def hosted_ui_url(self) -> str:
        """The hosted UI's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`)."""
        return self.hosted_ui.base_url()

    def sign_in_at(self, dashboard_url: str) -> None:
        """Send the hosted UI back to the dashboard (and only there) after sign-in and sign-out."""
        client = self.dashboard_client.node.default_child
        if not isinstance(client, cognito.CfnUserPoolClient):
            raise TypeError("the dashboard client has no CfnUserPoolClient to configure")
        client.callback_ur_ls = [dashboard_url]
        client.logout_ur_ls = [dashboard_url]

    def _route(
        self, route: RouteSpec, integrations_by_function: Mapping[str, apigw.HttpRouteIntegration]
    ) -> apigw.HttpRoute:
        construct_id = route.method.title() + "".join(
            part.strip("{}").title() for part in route.path.split("/") if part
        )
        authorizer: apigw.IHttpRouteAuthorizer
        if route.auth == "signed_in":
            authorizer = self.authorizer
        elif route.auth in ("write_key", "public"):
            authorizer = apigw.HttpNoneAuthorizer()
        else:
            raise ValueError(f"route {route.method} {route.path}: unknown auth kind {route.auth!r}")
        created = apigw.HttpRoute(
            self,
            construct_id,
            http_api=self.api,
            route_key=apigw.HttpRouteKey.with_(route.path, apigw.HttpMethod[route.method]),
            integration=integrations_by_function[route.function],
            authorizer=authorizer,
        )
        if route.auth != "signed_in":
            acknowledge(
                created,
                "AwsSolutions-APIG4",
                "Public by design: ingest checks the write key in the function (Segment's protocol sends "
                "it as Basic auth or in the body), CORS preflights and the health check carry no "
                "credentials. "
                "WAF rate limits and bad-input rules guard these paths at CloudFront.",
            )
        mark(created, "route", f"{route.method} {route.path}")
        return created
