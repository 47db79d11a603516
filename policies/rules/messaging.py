"""Messaging policies: SNS topics and SQS queues (controls T1 and Q1 of ``policy-controls-storage-messaging.md``).

Both judge encryption at rest, as their FSBP controls do. The stack's alarm topic is brought by the user
(operations.alarmTopicArn); the function's dead-letter queue is the stack's own and uses the stack key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import Resource, is_unknown, resource_rule, shown, unverifiable

SNS_TOPIC = "aws:sns/topic:Topic"
SQS_QUEUE = "aws:sqs/queue:Queue"


def _is_set(value: Any) -> bool:
    """A non-blank string, or a value known only after the update (a key ARN from another resource)."""
    return is_unknown(value) or (isinstance(value, str) and bool(value.strip()))


@resource_rule(
    name="sns-topic-encrypted",
    description="Ensure SNS topics encrypt messages at rest with a KMS key.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:SNS.1", "checkov:CKV_AWS_26", "trivy:AVD-AWS-0095", "catalog:T1"],
    remediation="Pass kms_master_key_id=<the stack key's ARN> to aws.sns.Topic; the key policy must let the "
                "services that publish to the topic (cloudwatch.amazonaws.com for alarms) use it.",
    types=[SNS_TOPIC],
)
def sns_topic_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _is_set(resource.get("kmsMasterKeyId")):
        yield f"kmsMasterKeyId = {shown(resource.get('kmsMasterKeyId'))}; allowed: a KMS key ID, ARN or alias"


@resource_rule(
    name="sqs-queue-encrypted",
    description="Ensure SQS queues encrypt messages at rest: with a KMS key, or with SQS-managed keys (SSE-SQS) "
                "stated explicitly.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:SQS.1", "checkov:CKV_AWS_27", "trivy:AVD-AWS-0096", "catalog:Q1"],
    remediation="Pass kms_master_key_id=<the stack key's ARN> to aws.sqs.Queue (or sqs_managed_sse_enabled=True).",
    types=[SQS_QUEUE],
)
def sqs_queue_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    key, managed = resource.get("kmsMasterKeyId"), resource.get("sqsManagedSseEnabled")
    if _is_set(key) or managed is True:
        return
    if is_unknown(managed):
        yield unverifiable("sqsManagedSseEnabled")
    elif managed is False:
        yield f"sqsManagedSseEnabled = false and kmsMasterKeyId = {shown(key)}: messages are stored unencrypted; " \
              f"allowed: a KMS key, or sqsManagedSseEnabled true"
    else:
        # AWS applies SSE-SQS to new queues by default, but the provider checks the setting for drift only when
        # it is set (pulumi-aws sqs.Queue docs), so an unset queue can be changed to plaintext unnoticed.
        yield "neither kmsMasterKeyId nor sqsManagedSseEnabled is set; allowed: a KMS key, or " \
              "sqsManagedSseEnabled true"
