"""cdk-nag acknowledgements: every one names the finding and says why it is accepted."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept one cdk-nag finding (e.g. "AwsSolutions-IAM5[Resource::*]") on a construct, with a reason."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))
