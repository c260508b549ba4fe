"""Secrets Manager: the pseudonymization key and the write keys, generated at deploy time."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.nag import acknowledge
from infra.config import StageConfig

# Environment variables naming the secrets a function reads at cold start.
PSEUDONYMIZATION_KEY_SECRET_ENV = "REVIVA_PSEUDONYMIZATION_KEY_SECRET_ARN"
WRITE_KEYS_SECRET_ENV = "REVIVA_WRITE_KEYS_SECRET_ARN"


class PipelineSecrets(Construct):
    """Generated secrets; nobody ever types them into a template or an environment variable."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.pseudonymization_key = secretsmanager.Secret(
            self,
            "PseudonymizationKey",
            description="HMAC key that pseudonymizes user ids, e-mails and phone numbers",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=config.removal_policy,
        )
        acknowledge(
            self.pseudonymization_key,
            "AwsSolutions-SMG4",
            "Rotating the pseudonymization key would change every stored pseudonym and split each "
            "visitor's history; it is rotated only by a planned re-keying, never automatically.",
        )
        self.write_keys = secretsmanager.Secret(
            self,
            "WriteKeys",
            description="Comma-separated write keys that trackers and SDKs send with events",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=40, exclude_punctuation=True
            ),
            removal_policy=config.removal_policy,
        )
        acknowledge(
            self.write_keys,
            "AwsSolutions-SMG4",
            "Write keys are public by nature (they ship in the tracker script); operators rotate them "
            "by adding a new key beside the old one, which an automatic rotation cannot coordinate.",
        )
