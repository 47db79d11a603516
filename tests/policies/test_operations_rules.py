"""Operations policies: Systems Manager documents and CloudWatch alarms, both verdicts of each, and one pass
through the real pack over gRPC."""

from __future__ import annotations

from typing import Any

from policies.rules import Resource, rule_named

from .pack_client import as_recorded

DOCUMENT = "aws:ssm/document:Document"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
TOPIC = "arn:aws:sns:us-east-1:123456789012:on-call"


def resource(type_: str, name: str = "r", **props: Any) -> Resource:
    return Resource(type_, props, name=name, urn=f"urn:pulumi:test::aws-compute::{type_}::{name}")


def check(policy: str, subject: Resource) -> list[str]:
    return rule_named(policy).evaluate(subject, None)


# --- SSM.4: documents not public ---------------------------------------------------------------------


def test_a_document_shared_with_all_accounts_is_refused():
    shared = resource(DOCUMENT, permissions={"type": "Share", "accountIds": "All"})
    assert check("ssm-document-not-public", shared) == [
        "permissions.accountIds = 'All' shares the document with every AWS account; allowed: named account IDs"]


def test_all_among_named_accounts_is_still_public():
    assert check("ssm-document-not-public",
                 resource(DOCUMENT, permissions={"type": "Share", "accountIds": "123456789012, all"}))


def test_a_private_document_or_one_shared_with_named_accounts_passes():
    assert check("ssm-document-not-public", resource(DOCUMENT, documentType="Command")) == []
    assert check("ssm-document-not-public",
                 resource(DOCUMENT, permissions={"type": "Share", "accountIds": "123456789012,210987654321"})) == []


def test_permissions_that_are_not_an_object_share_nothing_and_raise_nothing():
    assert check("ssm-document-not-public", resource(DOCUMENT, permissions="null")) == []


def test_unknown_sharing_cannot_be_verified():
    [message] = check("ssm-document-not-public", resource(DOCUMENT, permissions={"accountIds": UNKNOWN_STRING}))
    assert "cannot be verified during preview" in message


# --- CKV_AWS_319: alarm actions activated -------------------------------------------------------------


def test_an_alarm_with_its_actions_deactivated_is_refused():
    assert check("cloudwatch-alarm-actions-enabled", resource(ALARM, actionsEnabled=False, alarmActions=[TOPIC])) \
        == ["actionsEnabled = false: the alarm changes state and does nothing; allowed: true"]
    assert check("cloudwatch-alarm-actions-enabled", resource(COMPOSITE, actionsEnabled=False))


def test_actions_activated_or_left_at_the_default_pass():
    assert check("cloudwatch-alarm-actions-enabled", resource(ALARM, actionsEnabled=True)) == []
    assert check("cloudwatch-alarm-actions-enabled", resource(ALARM)) == []


# --- An action for the ALARM state ----------------------------------------------------------------------


def test_an_alarm_without_actions_is_reported():
    assert check("cloudwatch-alarm-has-action", resource(ALARM, alarmActions=[])) == [
        "alarmActions is empty: nobody is told when the alarm fires; allowed: at least one action ARN"]
    assert check("cloudwatch-alarm-has-action", resource(ALARM))


def test_an_alarm_that_notifies_or_scales_passes():
    assert check("cloudwatch-alarm-has-action", resource(ALARM, alarmActions=[TOPIC])) == []
    scaling = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:autoScalingGroupName/g:policyName/out"
    assert check("cloudwatch-alarm-has-action", resource(ALARM, alarmActions=[scaling])) == []


def test_the_has_action_policy_is_advisory_by_default():
    assert rule_named("cloudwatch-alarm-has-action").enforcement == "advisory"


# --- Through the pack ------------------------------------------------------------------------------------


def test_the_pack_reports_operations_findings_over_grpc(pack):
    public = as_recorded(DOCUMENT, {"permissions": {"type": "Share", "accountIds": "All"}}, name="doc")
    silent = as_recorded(ALARM, {"actionsEnabled": False, "alarmActions": []}, name="silent")
    paging = as_recorded(ALARM, {"alarmActions": [TOPIC]}, name="paging")
    found = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in pack.analyze([public, silent, paging])}
    assert {("ssm-document-not-public", "doc"), ("cloudwatch-alarm-actions-enabled", "silent"),
            ("cloudwatch-alarm-has-action", "silent")} <= found
    assert not {finding for finding in found if finding[1] == "paging"}
