"""Operations policies: Systems Manager documents and CloudWatch alarms.

Patching (maintenance windows, their tasks, State Manager associations) and dashboards have no control in
the standards we follow that can be judged before deployment: FSBP's SSM.2 and SSM.3 judge a managed
instance's patch and association compliance, known only once it runs. What can be judged here is whether a
document the stack owns is shared publicly (SSM.4), and whether an alarm can act at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import Resource, is_unknown, resource_rule, shown, unverifiable

SSM_DOCUMENT = "aws:ssm/document:Document"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


@resource_rule(
    name="ssm-document-not-public",
    description="Ensure Systems Manager documents the stack owns are not shared with every AWS account.",
    severity="critical",
    enforcement="mandatory",
    controls=["fsbp:SSM.4"],
    remediation="Drop permissions from aws.ssm.Document, or share it with named accounts: "
                "permissions={'type': 'Share', 'account_ids': '123456789012'}.",
    types=[SSM_DOCUMENT],
)
def ssm_document_not_public(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    permissions = resource.get("permissions")
    accounts = permissions.get("accountIds") if isinstance(permissions, Mapping) else None
    if is_unknown(accounts):
        yield unverifiable("permissions.accountIds")
    elif isinstance(accounts, str) and "all" in (a.strip().lower() for a in accounts.split(",")):
        yield f"permissions.accountIds = {shown(accounts)} shares the document with every AWS account; " \
              f"allowed: named account IDs"


@resource_rule(
    name="cloudwatch-alarm-actions-enabled",
    description="Ensure CloudWatch alarms have their actions activated, so that a state change notifies or acts.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_319"],
    remediation="Leave actions_enabled at its default (True) on aws.cloudwatch.MetricAlarm and CompositeAlarm.",
    types=[METRIC_ALARM, COMPOSITE_ALARM],
)
def alarm_actions_enabled(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    enabled = resource.get("actionsEnabled")
    if is_unknown(enabled):
        yield unverifiable("actionsEnabled")
    elif enabled is False:
        yield "actionsEnabled = false: the alarm changes state and does nothing; allowed: true"


@resource_rule(
    name="cloudwatch-alarm-has-action",
    description="Ensure every CloudWatch alarm has an action for its ALARM state (an SNS topic, a scaling "
                "policy, an EC2 action), so that someone or something responds.",
    severity="low",
    enforcement="advisory",
    controls=[],  # Security Hub's CloudWatch.15 is this control, but in its NIST standard, not in FSBP
    remediation="Set aws-compute:operations.alarmTopicArn (or fleet.alarmTopicArn) to the SNS topic of the "
                "stack's on-call; for other alarms pass alarm_actions=[topic_arn].",
    types=[METRIC_ALARM, COMPOSITE_ALARM],
)
def alarm_has_action(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    actions = resource.get("alarmActions")
    if is_unknown(actions):
        yield unverifiable("alarmActions")
    elif not actions:
        yield "alarmActions is empty: nobody is told when the alarm fires; allowed: at least one action ARN"
