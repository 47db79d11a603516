"""IAM documents as plain dicts: built by pure functions, json.dumps-ed by the components.

Each trust policy names the one service principal that assumes the role and, where the service sends
aws:SourceAccount, pins the account, so a confused deputy in another account cannot use it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Document = dict[str, Any]


def document(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def to_json(doc: Document) -> str:
    return json.dumps(doc, sort_keys=True)


def service_trust_policy(service: str, account_id: str) -> Document:
    """Only ``service`` may assume the role, and only on behalf of this account."""
    return document({
        "Sid": "AssumedOnlyBy" + "".join(part.capitalize() for part in service.split(".")[0].split("-")),
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    })


def dlm_trust_policy() -> Document:
    """Only Data Lifecycle Manager may assume the role, as AWS's own AWSDataLifecycleManagerDefaultRole trusts
    it: no condition. No AWS document says DLM sends aws:SourceAccount; if it did not, a condition on it would
    make every scheduled snapshot fail while `pulumi up` stays green (DLM user guide, "AWS managed policies
    for Amazon Data Lifecycle Manager" / the default role's trust relationship)."""
    return document({
        "Sid": "AssumedOnlyByDlm",
        "Effect": "Allow",
        "Principal": {"Service": "dlm.amazonaws.com"},
        "Action": "sts:AssumeRole",
    })


def log_group_arn_patterns(partition: str, region: str, account_id: str, prefixes: Sequence[str]) -> list[str]:
    return [f"arn:{partition}:logs:{region}:{account_id}:log-group:{prefix}*" for prefix in prefixes]


def stack_key_policy(partition: str, region: str, account_id: str, log_group_prefixes: Sequence[str]) -> Document:
    """The stack KMS key's policy: the account administers it (through IAM), CloudWatch Logs may use
    it only for this stack's log groups. (The fleet's Auto Scaling role gets a grant, components/fleet.py.)"""
    account_root = f"arn:{partition}:iam::{account_id}:root"
    return document(
        {
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsUsesKeyForThisStacksLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": log_group_arn_patterns(
                        partition, region, account_id, log_group_prefixes
                    )
                }
            },
        },
    )


def flow_log_delivery_policy(log_group_arn: str) -> Document:
    """What the VPC Flow Logs service needs to write into one log group: the actions the VPC user guide lists
    for the delivery role ("IAM role for publishing flow logs to CloudWatch Logs"), except CreateLogGroup, since
    the stack creates the group. DescribeLogGroups cannot be scoped to one group (it lists them), so it is
    granted on the account's log groups of the region, never "*"."""
    region_log_groups = log_group_arn.split(":log-group:")[0] + ":log-group:*"
    return document(
        {
            "Sid": "WriteFlowLogsToOneLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            "Sid": "FindTheLogGroup",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": region_log_groups,
        },
    )


def instance_trust_policy() -> Document:
    """Only EC2 may assume an instance role (the server's, the fleet's). Unlike other services, EC2 sets no
    aws:SourceAccount when an instance profile's role is assumed, so a condition on it would lock the
    instances out of their credentials."""
    return document({
        "Sid": "AssumedOnlyByEc2",
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    })


def session_manager_policy(partition: str, region: str, account_id: str) -> Document:
    """What the SSM agent needs for Session Manager, and nothing else (not Run Command or patching, unlike
    AmazonSSMManagedInstanceCore). Registration is limited to this account's instances in the region;
    the message channels accept only "*"."""
    return document(
        {
            "Sid": "RegisterWithSystemsManager",
            "Effect": "Allow",
            "Action": "ssm:UpdateInstanceInformation",
            "Resource": f"arn:{partition}:ec2:{region}:{account_id}:instance/*",
        },
        {
            "Sid": "SessionManagerChannels",
            "Effect": "Allow",
            "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
            "Resource": "*",
        },
    )
