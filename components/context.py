"""Facts about where the stack is deployed, looked up once and passed to every layer."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

from .config import StackConfig
from .tags import standard_tags


@dataclass(frozen=True)
class DeployContext:
    project: str
    stack: str
    environment: str
    region: str
    account_id: str
    partition: str
    tags: dict[str, str]

    @property
    def name_prefix(self) -> str:
        """Prefix of the few physical names AWS makes us fix (log groups, Lambda functions)."""
        return f"{self.project}-{self.stack}"

    @property
    def log_group_prefixes(self) -> list[str]:
        """Every log group of the stack is named under one of these, so the KMS key can be scoped to them."""
        return [f"/{self.project}/{self.stack}/", f"/aws/lambda/{self.name_prefix}-",
                f"aws-waf-logs-{self.name_prefix}-"]  # WAF accepts only log groups named aws-waf-logs-...

    @property
    def iam_path(self) -> str:
        """Every role and instance profile of the stack lives under this IAM path, so that the CI role's
        IAM permissions can be limited to the stack's own roles (components/ci.py)."""
        return f"/{self.project}/{self.stack}/"

    @property
    def bucket_prefix(self) -> str:
        """Prefix of the stack's S3 bucket names: lower case, as S3 requires, and at most the 37 characters
        that the provider's bucket_prefix takes, so the CI role can be limited to the stack's buckets."""
        return f"{self.name_prefix.lower()[:36]}-"

    def log_group_name(self, purpose: str) -> str:
        return f"/{self.project}/{self.stack}/{purpose}"


def lookup_context(config: StackConfig) -> DeployContext:
    identity = aws.get_caller_identity()
    partition = aws.get_partition()
    return DeployContext(
        project=config.project,
        stack=config.stack,
        environment=config.environment,
        region=config.region,
        account_id=identity.account_id,
        partition=partition.partition,
        tags=standard_tags(config.project, config.environment, config.extra_tags),
    )


def available_zones(region: str) -> list[str]:
    """The region's AZs that need no opt-in (Local and Wavelength Zones excluded), in name order."""
    zones = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    return sorted(zones.names)
