"""Secrets Manager: the pseudonymization key and the write keys, generated at deploy time."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.nag import acknowledge
from infra.config import StageConfig
from reviva.settings import Settings, env_name


class PipelineSecrets(Construct):
    """Generated secrets; nobody ever types them into a template or an environment variable."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.pseudonymization_key = self._generated(
            "PseudonymizationKey",
            "HMAC key that pseudonymizes user ids, e-mails and phone numbers",
            64,
            no_rotation_because="Rotating the pseudonymization key would change every stored pseudonym "
            "and split each visitor's history; it is rotated only by a planned re-keying, never "
            "automatically.",
        )
        self.write_keys = self._generated(
            "WriteKeys",
            "Comma-separated write keys that trackers and SDKs send with events",
            40,
            no_rotation_because="Write keys are public by nature (they ship in the tracker script); "
            "operators rotate them by adding a new key beside the old one, which an automatic rotation "
            "cannot coordinate.",
        )
        # CloudFront sends this value in a custom origin header (infra/components/edge.py) and the
        # ingest and query functions refuse requests without it (reviva/origin_verify.py): a request sent
        # straight to the API's own host, around CloudFront and its WAF, is answered 403.
        self.origin_verify = self._generated(
            "OriginVerify",
            "Header value CloudFront adds to API requests; ingest and query refuse requests without it",
            48,
            no_rotation_because="CloudFront holds the value in its origin configuration: a rotation must "
            "update the secret and the distribution together, which a redeploy with a new secret does; a "
            "rotation Lambda cannot.",
        )

    def arn_environment(self, *names: str) -> dict[str, str]:
        """`REVIVA_<NAME>_SECRET_ARN=…` for each secret named (the settings field `<name>_secret_arn`).

        A function reads its secrets by ARN at cold start (`reviva.settings.resolve_secrets`).
        """
        secrets = {
            "pseudonymization_key": self.pseudonymization_key,
            "write_keys": self.write_keys,
            "origin_verify": self.origin_verify,
        }
        return {env_name(Settings, f"{name}_secret_arn"): secrets[name].secret_arn for name in names}

    def _generated(
        self, construct_id: str, description: str, length: int, *, no_rotation_because: str
    ) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=length, exclude_punctuation=True
            ),
            removal_policy=self._config.removal_policy,
        )
        acknowledge(secret, "AwsSolutions-SMG4", no_rotation_because)
        return secret
