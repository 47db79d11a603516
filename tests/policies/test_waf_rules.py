"""WAF policies: a web ACL logs its requests (WAF.11) and blocks Log4j with AWS's managed rules."""

from __future__ import annotations

import json
from typing import Any

from policies.rules import Resource, Stack, rule_named

from .pack_client import as_recorded

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
GROUP_ASSOCIATION = "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation"
ALB = "aws:lb/loadBalancer:LoadBalancer"
STAGE = "aws:apigateway/stage:Stage"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/app/0123abcd"
ALB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef"
STAGE_ARN = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3/stages/prod"
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-app:*"


def resource(type_: str, name: str, **props: Any) -> Resource:
    return Resource(type_, props, name=name, urn=f"urn:pulumi:test::aws-compute::{type_}::{name}")


def managed(group: str, **extra: Any) -> dict:
    return {"name": group, "priority": 10, "overrideAction": {"none": {}},
            "statement": {"managedRuleGroupStatement": {"name": group, "vendorName": "AWS", **extra}}}


def acl(*rules: dict, **props: Any) -> Resource:
    return resource(WEB_ACL, "acl", arn=ACL_ARN, rules=list(rules), **props)


GUARDED = acl(managed("AWSManagedRulesKnownBadInputsRuleSet"))


def findings(policy: str, *resources: Resource) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(tuple(resources)))]


def messages(policy: str, *resources: Resource) -> list[str]:
    return [message for _, message in findings(policy, *resources)]


def in_front_of_alb(*resources: Resource) -> list[Resource]:
    return [*resources, resource(ALB, "alb", arn=ALB_ARN),
            resource(ASSOCIATION, "assoc", webAclArn=ACL_ARN, resourceArn=ALB_ARN)]


# --- X3: logging --------------------------------------------------------------------------------------

def test_a_web_acl_without_logging_is_reported():
    assert messages("waf-web-acl-logging", GUARDED) == [
        "no aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration has this web ACL's ARN as resourceArn; "
        "allowed: one per web ACL"]


def test_a_web_acl_logging_to_an_aws_waf_logs_group_passes():
    logging = resource(LOGGING, "logging", resourceArn=ACL_ARN, logDestinationConfigs=[LOG_GROUP_ARN])
    assert findings("waf-web-acl-logging", GUARDED, logging) == []


def test_a_logging_configuration_linked_only_by_its_dependency_counts():
    logging = Resource(LOGGING, {"resourceArn": UNKNOWN, "logDestinationConfigs": [UNKNOWN]}, name="logging",
                       urn="urn:l", property_dependencies={"resourceArn": (GUARDED.urn,)})
    assert findings("waf-web-acl-logging", GUARDED, logging) == []


def test_a_destination_not_named_aws_waf_logs_is_reported():
    bad = "arn:aws:logs:us-east-1:123456789012:log-group:/app/waf"
    logging = resource(LOGGING, "logging", resourceArn=ACL_ARN, logDestinationConfigs=[bad])
    (message,) = messages("waf-web-acl-logging", GUARDED, logging)
    assert message.startswith(f"logging.logDestinationConfigs[0] = '{bad}': WAF accepts only destinations named "
                              f"aws-waf-logs-...")


# --- X5: Log4j ----------------------------------------------------------------------------------------

def test_a_web_acl_in_front_of_an_alb_with_the_known_bad_inputs_group_passes():
    assert findings("waf-web-acl-log4j-rules", *in_front_of_alb(GUARDED)) == []


def test_a_web_acl_in_front_of_an_alb_without_the_group_is_reported():
    (message,) = messages("waf-web-acl-log4j-rules", *in_front_of_alb(acl(managed("AWSManagedRulesCommonRuleSet"))))
    assert message.startswith("no rule uses the managed rule group AWSManagedRulesKnownBadInputsRuleSet")


def test_a_group_that_only_counts_is_reported():
    counting = {**managed("AWSManagedRulesKnownBadInputsRuleSet"), "overrideAction": {"count": {}}}
    (message,) = messages("waf-web-acl-log4j-rules", *in_front_of_alb(acl(counting)))
    assert message.startswith("rules[0].overrideAction = count: the Log4j rule then only counts or allows")


def test_a_log4j_rule_overridden_to_count_is_reported():
    overridden = managed("AWSManagedRulesKnownBadInputsRuleSet",
                         ruleActionOverrides=[{"name": "Log4JRCE", "actionToUse": {"count": {}}}])
    (message,) = messages("waf-web-acl-log4j-rules", *in_front_of_alb(acl(overridden)))
    assert message.startswith("rules[0].statement.managedRuleGroupStatement.ruleActionOverrides[0] sets Log4JRCE "
                              "to count")


def test_an_override_of_another_rule_of_the_group_passes():
    overridden = managed("AWSManagedRulesKnownBadInputsRuleSet",
                         ruleActionOverrides=[{"name": "Host_localhost_HEADER", "actionToUse": {"count": {}}}])
    assert findings("waf-web-acl-log4j-rules", *in_front_of_alb(acl(overridden))) == []


def test_the_group_in_rule_json_or_a_rule_group_association_counts():
    rule_json = json.dumps([{"Name": "bad-inputs", "Priority": 1, "OverrideAction": {"None": {}},
                             "Statement": {"ManagedRuleGroupStatement": {
                                 "VendorName": "AWS", "Name": "AWSManagedRulesKnownBadInputsRuleSet"}}}])
    assert findings("waf-web-acl-log4j-rules", *in_front_of_alb(acl(ruleJson=rule_json))) == []
    association = resource(GROUP_ASSOCIATION, "bad-inputs", webAclArn=ACL_ARN, overrideAction="none",
                           managedRuleGroup={"name": "AWSManagedRulesKnownBadInputsRuleSet", "vendorName": "AWS"})
    assert findings("waf-web-acl-log4j-rules", *in_front_of_alb(acl(), association)) == []


def test_unknown_rules_cannot_be_verified():
    (message,) = messages("waf-web-acl-log4j-rules", resource(WEB_ACL, "acl", arn=ACL_ARN, rules=UNKNOWN))
    assert "rules cannot be verified during preview" in message


def test_a_web_acl_guarding_only_rest_api_stages_is_left_to_the_stage_policy():
    stage_only = [acl(), resource(STAGE, "stage", arn=STAGE_ARN),
                  resource(ASSOCIATION, "assoc", webAclArn=ACL_ARN, resourceArn=STAGE_ARN)]
    assert findings("waf-web-acl-log4j-rules", *stage_only) == []
    reported = rule_named("apigateway-waf-associated").evaluate_stack(Stack(tuple(stage_only)))
    assert [(stage.name, message.startswith("web ACL acl lacks")) for stage, message in reported] == [("stage", True)]



def test_a_web_acl_guarding_an_alb_and_a_rest_stage_without_the_group_is_one_finding_on_the_acl():
    both = [*in_front_of_alb(acl()), resource(STAGE, "stage", arn=STAGE_ARN),
            resource(ASSOCIATION, "stage-assoc", webAclArn=ACL_ARN, resourceArn=STAGE_ARN)]
    on_the_acl = findings("waf-web-acl-log4j-rules", *both)
    on_the_stage = findings("apigateway-waf-associated", *both)
    assert [name for name, _ in on_the_acl] == ["acl"] and on_the_stage == []

# --- Through the pack ---------------------------------------------------------------------------------

def test_the_pack_reports_an_unlogged_web_acl_without_log4j_rules_over_grpc(pack):
    web_acl = as_recorded(WEB_ACL, {"arn": ACL_ARN, "rules": []}, name="acl")
    found = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in pack.analyze([web_acl])}
    assert {("waf-web-acl-logging", "acl"), ("waf-web-acl-log4j-rules", "acl")} <= found
