"""WAF policies: AWS WAFv2 web ACLs (controls X3 and X5 of ``policy-controls-storage-messaging.md``).

Whether a load balancer or an API stage has a web ACL at all is judged where those are (lb-waf-attached,
apigateway-waf-associated); these judge the web ACL itself: that it logs the requests it sees (WAF.11), and
that it blocks the Log4j exploit (CVE-2021-44228) with AWS's managed rule group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Resource, Stack, as_list, is_unknown, shown, stack_rule, unverifiable
from .network import References

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING_CONFIGURATION = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
RULE_GROUP_ASSOCIATION = "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation"
REST_STAGE = "aws:apigateway/stage:Stage"
LOG_PREFIX = "aws-waf-logs-"  # WAF's PutLoggingConfiguration accepts only destinations named so
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
LOG4J_RULE = "Log4JRCE"


def member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def web_acls(stack: Stack) -> References:
    return stack.memo("web acls", lambda: References(stack.of_type(WEB_ACL), "arn"))


# --- X3: logging --------------------------------------------------------------------------------------

def destination_name(arn: str) -> str | None:
    """The name of a WAF log destination: a log group, an S3 bucket or a Firehose stream, from its ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or not arn.startswith("arn:"):
        return None
    service, resource = parts[2], parts[5]
    if service == "logs" and resource.startswith("log-group:"):
        name = resource[len("log-group:"):]
        return name[:-2] if name.endswith(":*") else name
    if service == "s3":
        return resource.split("/", 1)[0]
    if service == "firehose" and resource.startswith("deliverystream/"):
        return resource[len("deliverystream/"):]
    return None


@stack_rule(
    name="waf-web-acl-logging",
    description="Ensure every WAFv2 web ACL logs the requests it inspects, to a destination whose name starts "
                "with aws-waf-logs-.",
    severity="low",
    enforcement="mandatory",
    controls=["fsbp:WAF.11", "checkov:CKV2_AWS_31", "catalog:X3"],
    remediation="Create an aws.cloudwatch.LogGroup named 'aws-waf-logs-<stack>' and aws.wafv2."
                "WebAclLoggingConfiguration(resource_arn=web_acl.arn, log_destination_configs=[log_group.arn]).",
)
def waf_logging(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    acls = web_acls(stack)
    logged: dict[str, list[Resource]] = {}
    undecided = False
    for logging in stack.of_type(LOGGING_CONFIGURATION):
        named = acls.named_by(logging, "resourceArn")
        undecided |= not named and is_unknown(logging.get("resourceArn"))
        for acl in named:
            logged.setdefault(acl.urn, []).append(logging)
    for acl in stack.of_type(WEB_ACL):
        configurations = logged.get(acl.urn, [])
        if not configurations:
            yield acl, (unverifiable("which logging configuration belongs to this web ACL") if undecided else
                        f"no {LOGGING_CONFIGURATION} has this web ACL's ARN as resourceArn; allowed: one per web ACL")
        for logging in configurations:
            for index, arn in enumerate(as_list(logging.get("logDestinationConfigs"))):
                name = destination_name(arn) if isinstance(arn, str) else None
                if name is not None and not name.startswith(LOG_PREFIX):
                    yield acl, (f"{logging.name}.logDestinationConfigs[{index}] = {arn!r}: WAF accepts only "
                                f"destinations named {LOG_PREFIX}...; allowed: a log group, bucket or Firehose "
                                f"stream whose name starts with {LOG_PREFIX}")


# --- X5: Log4j ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupUse:
    """One use of a managed rule group in a web ACL: where, and what weakens it (empty when nothing does)."""

    path: str
    weakened: str


def _count_override(action: Any) -> bool:
    """A group-level overrideAction that makes the group's rules only count: {count: {}} or "count"."""
    if isinstance(action, str):
        return action.lower() == "count"
    return isinstance(action, Mapping) and any(str(k).lower() == "count" for k in action)


def _log4j_override(overrides: Any, path: str) -> str:
    """How a ruleActionOverrides list turns Log4JRCE off: its action replaced by anything but block."""
    for index, override in enumerate(as_list(overrides)):
        name = member(override, "name") or member(override, "Name")
        action = member(override, "actionToUse") or member(override, "ActionToUse")
        if name == LOG4J_RULE and isinstance(action, Mapping) and not any(str(k).lower() == "block" for k in action):
            return f"{path}.ruleActionOverrides[{index}] sets {LOG4J_RULE} to {', '.join(map(str, action)) or '{}'}"
    return ""


def _uses_in_rules(acl: Resource) -> Iterator[GroupUse]:
    for index, rule in enumerate(as_list(acl.get("rules"))):
        group = member(member(rule, "statement"), "managedRuleGroupStatement")
        if member(group, "name") != KNOWN_BAD_INPUTS:
            continue
        path = f"rules[{index}]"
        weakened = (f"{path}.overrideAction = count" if _count_override(member(rule, "overrideAction"))
                    else _log4j_override(member(group, "ruleActionOverrides"),
                                         f"{path}.statement.managedRuleGroupStatement"))
        yield GroupUse(path, weakened)


def _uses_in_rule_json(acl: Resource) -> Iterator[GroupUse]:
    text = acl.get("ruleJson")
    try:
        rules = json.loads(text) if isinstance(text, str) and not is_unknown(text) else []
    except (ValueError, RecursionError):
        return
    for index, rule in enumerate(as_list(rules)):
        group = member(member(rule, "Statement"), "ManagedRuleGroupStatement")
        if member(group, "Name") != KNOWN_BAD_INPUTS:
            continue
        path = f"ruleJson[{index}]"
        weakened = (f"{path}.OverrideAction = Count" if _count_override(member(rule, "OverrideAction"))
                    else _log4j_override(member(group, "RuleActionOverrides"), f"{path}.Statement"))
        yield GroupUse(path, weakened)


def _uses_in_associations(associations: list[Resource]) -> Iterator[GroupUse]:
    for association in associations:
        group = association.get("managedRuleGroup")
        if member(group, "name") != KNOWN_BAD_INPUTS:
            continue
        path = association.name
        weakened = (f"{path}.overrideAction = count" if _count_override(association.get("overrideAction"))
                    else _log4j_override(member(group, "ruleActionOverrides"), f"{path}.managedRuleGroup"))
        yield GroupUse(path, weakened)


def guards_only_rest_stages(stack: Stack, acl: Resource, associations: list[Resource]) -> bool:
    """A web ACL in front of REST API stages alone: apigateway-waf-associated judges its rule groups there."""
    stages = References(stack.of_type(REST_STAGE), "arn")
    return bool(associations) and all(stages.named_by(a, "resourceArn") for a in associations)


@stack_rule(
    name="waf-web-acl-log4j-rules",
    description="Ensure WAFv2 web ACLs block the Log4j exploit (CVE-2021-44228) with the AWS managed rule group "
                "AWSManagedRulesKnownBadInputsRuleSet, its Log4JRCE rule neither counted nor overridden.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_192", "catalog:X5"],
    remediation="Add to the web ACL's rules {'name': 'AWSManagedRulesKnownBadInputsRuleSet', 'priority': 30, "
                "'override_action': {'none': {}}, 'statement': {'managed_rule_group_statement': {'name': "
                "'AWSManagedRulesKnownBadInputsRuleSet', 'vendor_name': 'AWS'}}, 'visibility_config': {...}} "
                "(components/load_balancer.py web_acl_rules() is the model).",
)
def waf_log4j_rules(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    acls = web_acls(stack)
    attached: dict[str, list[Resource]] = {}
    groups: dict[str, list[Resource]] = {}
    for kind, index in ((ASSOCIATION, attached), (RULE_GROUP_ASSOCIATION, groups)):
        for association in stack.of_type(kind):
            for acl in acls.named_by(association, "webAclArn"):
                index.setdefault(acl.urn, []).append(association)
    for acl in stack.of_type(WEB_ACL):
        if guards_only_rest_stages(stack, acl, attached.get(acl.urn, [])):
            continue
        uses = [*_uses_in_rules(acl), *_uses_in_rule_json(acl), *_uses_in_associations(groups.get(acl.urn, []))]
        if any(not use.weakened for use in uses):
            continue
        if uses:
            yield acl, f"{uses[0].weakened}: the Log4j rule then only counts or allows; allowed: the group's own " \
                       f"block action (overrideAction none, no override of {LOG4J_RULE})"
        elif is_unknown(acl.get("rules")) or is_unknown(acl.get("ruleJson")):
            yield acl, unverifiable("rules")
        else:
            yield acl, (f"no rule uses the managed rule group {KNOWN_BAD_INPUTS} (rules: "
                        f"{shown([member(r, 'name') for r in as_list(acl.get('rules'))])}); allowed: a rule with "
                        f"that group and overrideAction none")
