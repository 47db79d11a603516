"""Stack policies that follow relations across resources: what sits behind a load balancer, and which API
may invoke a function.

Resources are joined by the IDs in their properties (the engine sends outputs to stack policies) and,
where an ID is still unknown during a preview, by ``propertyDependencies``. Where neither decides the
relation, the policy says it cannot be verified rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .base import Resource, Stack, as_list, is_unknown, stack_rule, unverifiable
from .iam import names_a_source
from .network import INGRESS_RULE, SECURITY_GROUP, SECURITY_GROUP_RULE, ingress_of

AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ECS_SERVICE = "aws:ecs/service:Service"
INSTANCE = "aws:ec2/instance:Instance"
TARGET_GROUP_ATTACHMENTS = ("aws:lb/targetGroupAttachment:TargetGroupAttachment",
                            "aws:alb/targetGroupAttachment:TargetGroupAttachment")
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
APIS = ("aws:apigatewayv2/api:Api", "aws:apigateway/restApi:RestApi")


class Index:
    """The stack's resources by ID and by URN, built once per evaluation."""

    def __init__(self, stack: Stack):
        self.by_urn = {r.urn: r for r in stack.resources}
        self.by_id = {r.id: r for r in stack.resources if isinstance(r.id, str) and r.id}

    def referenced(self, owner: Resource, value: Any, key: str, types: Iterable[str]) -> list[Resource]:
        """The resources of ``types`` that ``value`` (found under ``owner``'s top-level ``key``) names by ID;
        when the value is unknown, those ``owner`` depends on through ``key``."""
        wanted = tuple(types)
        found = [self.by_id[v] for v in as_list(value) if isinstance(v, str) and v in self.by_id]
        if not found and (is_unknown(value) or any(is_unknown(v) for v in as_list(value))):
            found = [self.by_urn[u] for u in owner.property_dependencies.get(key, ()) if u in self.by_urn]
        return [r for r in found if r.type in wanted]


# --- Targets behind a load balancer ----------------------------------------------------------------

def _group_ids_of_launch_template(template: Resource) -> list[Any]:
    ids = as_list(template.get("vpcSecurityGroupIds"))
    for interface in as_list(template.get("networkInterfaces")):
        if isinstance(interface, Mapping):
            ids += as_list(interface.get("securityGroups"))
    return ids


def targets_behind_load_balancers(stack: Stack, index: Index) -> Iterator[tuple[Resource, list[Any], str]]:
    """(target, its security group IDs, the property they come from) for every workload a target group
    sends traffic to: Auto Scaling groups, ECS services and attached instances."""
    for group in stack.of_type(AUTOSCALING_GROUP):
        if not as_list(group.get("targetGroupArns")):
            continue
        template_spec = group.get("launchTemplate")
        template_id = template_spec.get("id") if isinstance(template_spec, Mapping) else None
        for template in index.referenced(group, template_id, "launchTemplate", [LAUNCH_TEMPLATE]):
            yield group, _group_ids_of_launch_template(template), f"{template.name}.vpcSecurityGroupIds"
    for service in stack.of_type(ECS_SERVICE):
        if not as_list(service.get("loadBalancers")):
            continue
        network = service.get("networkConfiguration")
        groups = network.get("securityGroups") if isinstance(network, Mapping) else None
        yield service, as_list(groups), "networkConfiguration.securityGroups"
    for attachment in stack.of_type(*TARGET_GROUP_ATTACHMENTS):
        for instance in index.referenced(attachment, attachment.get("targetId"), "targetId", [INSTANCE]):
            yield instance, as_list(instance.get("vpcSecurityGroupIds")), "vpcSecurityGroupIds"


def standalone_rules_of(stack: Stack, group: Resource) -> list[Resource]:
    return [r for r in stack.of_type(SECURITY_GROUP_RULE, INGRESS_RULE)
            if r.get("securityGroupId") == group.id or
            group.urn in r.property_dependencies.get("securityGroupId", ())]


@stack_rule(
    name="lb-targets-admit-only-load-balancer",
    description="Ensure instances, Auto Scaling groups and ECS services behind a load balancer admit traffic "
                "only from security groups, never from CIDR ranges that bypass the load balancer.",
    severity="high",
    enforcement="mandatory",
    controls=["catalog:relations"],
    remediation="Replace the CIDR ingress of the target's security group by a rule whose source is the load "
                "balancer's security group: aws.ec2.SecurityGroupIngressArgs(protocol='tcp', from_port=8080, "
                "to_port=8080, security_groups=[alb_sg.id]).",
)
def lb_targets_admit_only_load_balancer(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    index = Index(stack)
    for target, group_ids, source in targets_behind_load_balancers(stack, index):
        if any(is_unknown(g) for g in group_ids) and not target.property_dependencies:
            yield target, unverifiable(source)
            continue
        groups = [index.by_id[g] for g in group_ids if isinstance(g, str) and g in index.by_id]
        for group in (g for g in groups if g.type == SECURITY_GROUP):
            for rule in [group, *standalone_rules_of(stack, group)]:
                for ingress in ingress_of(rule):
                    where = ingress.path if rule is group else f"{rule.name}.{ingress.path}"
                    yield target, (f"security group {group.name}: {where} = {ingress.cidr} admits "
                                   f"{ingress.describe()} to a load balancer target directly; allowed: the "
                                   f"load balancer's security group as the only source")


# --- Lambda permissions for the stack's APIs -------------------------------------------------------

def _api_of_source_arn(source_arn: str, apis: list[Resource]) -> Resource | None:
    """The API whose execute-api ARN (arn:...:execute-api:<region>:<account>:<api id>/...) this is."""
    parts = source_arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "execute-api":
        return None
    api_id = parts[5].split("/", 1)[0]
    return next((api for api in apis if api.id == api_id), None)


@stack_rule(
    name="lambda-permission-scoped-to-stack-api",
    description="Ensure a Lambda permission for API Gateway names, in its sourceArn, an API of this stack, "
                "so that no other API in the account (or another account) can invoke the function.",
    severity="high",
    enforcement="mandatory",
    controls=["catalog:F2"],
    remediation="Set source_arn=api.execution_arn.apply(lambda arn: f'{arn}/*/*') on the aws.lambda_.Permission.",
)
def lambda_permission_scoped_to_stack_api(stack: Stack,
                                           config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    apis = stack.of_type(*APIS)
    by_urn = {api.urn for api in apis}
    for permission in stack.of_type(LAMBDA_PERMISSION):
        principal = permission.get("principal")
        if not (isinstance(principal, str) and principal.startswith("apigateway.")):
            continue
        source_arn = permission.get("sourceArn")
        if is_unknown(source_arn):
            if not by_urn & set(permission.property_dependencies.get("sourceArn", ())):
                yield permission, unverifiable("sourceArn")
        elif not names_a_source(source_arn):
            continue  # not set, or a wildcard: lambda-permission-source-scoped reports it, once
        elif _api_of_source_arn(source_arn, apis) is None:
            yield permission, (f"sourceArn = {source_arn} names no API of this stack; allowed: the execution ARN "
                               f"of one of {sorted(api.name for api in apis) or 'none (the stack has no API)'}")
