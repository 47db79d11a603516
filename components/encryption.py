"""The stack's customer-managed KMS key: encrypts volumes, logs, and the other layers' data."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .context import DeployContext
from .iam import stack_key_policy, to_json
from .tags import with_name


@dataclass(frozen=True)
class StackKeyArgs:
    context: DeployContext
    deletion_window_days: int = 30


class StackKey(pulumi.ComponentResource):
    """A KMS key with yearly rotation and an explicit key policy, plus an alias naming the stack."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(self, name: str, args: StackKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:encryption:StackKey", name, None, opts)
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"{ctx.project} {ctx.stack}: volumes, logs and secrets",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=to_json(stack_key_policy(ctx.partition, ctx.region, ctx.account_id, ctx.log_group_prefixes)),
            tags=with_name(ctx.tags, f"{ctx.name_prefix}-key"),
            opts=child,
        )
        alias = aws.kms.Alias(f"{name}-alias", name=f"alias/{ctx.name_prefix}", target_key_id=key.key_id, opts=child)

        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"keyArn": self.key_arn, "aliasName": self.alias_name})
