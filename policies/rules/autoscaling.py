"""Auto Scaling policies: how a group launches, where it runs, how it is health-checked and tagged.

Catalog section C, rows A1-A5. A2 (zones) and A3 (ELB health checks) are relations: the zones come from
the subnets the group names, and "behind a load balancer" may be said on the group or by a separate
attachment resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import Resource, Stack, as_list, indexed, is_unknown, resource_rule, stack_rule, unverifiable
from .loadbalancing import MINIMUM_ZONES, UNKNOWN_LIST, spanned_zones, zone_verdict
from .network import refers_to

AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
ATTACHMENTS = ("aws:autoscaling/attachment:Attachment",
               "aws:autoscaling/trafficSourceAttachment:TrafficSourceAttachment")
LOAD_BALANCER_TRAFFIC = ("elb", "elbv2")


def member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def mixed_launch_template(group: Resource) -> Any:
    return member(member(group.get("mixedInstancesPolicy"), "launchTemplate"), "launchTemplateSpecification")


@resource_rule(
    name="asg-uses-launch-template",
    description="Ensure Auto Scaling groups launch from a launch template, not a launch configuration.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_315", "fsbp:AutoScaling.9", "catalog:A1"],
    remediation="Create an aws.ec2.LaunchTemplate and pass launch_template=aws.autoscaling.GroupLaunchTemplateArgs("
                "id=template.id, version=template.latest_version.apply(str)) (or the mixed instances policy's "
                "launch_template_specification); launch configurations get no new instance types or features.",
    types=[AUTOSCALING_GROUP],
)
def asg_uses_launch_template(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.get("launchTemplate") is not None or mixed_launch_template(resource) is not None:
        return
    configuration = resource.get("launchConfiguration")
    if configuration is not None:
        yield f"launchConfiguration = {configuration!r}; allowed: launchTemplate or a mixed instances policy"
    else:
        yield "neither launchTemplate nor mixedInstancesPolicy.launchTemplate is set; allowed: a launch template"


@resource_rule(
    name="asg-multiple-instance-types",
    description="Ensure Auto Scaling groups can launch more than one instance type (a mixed instances policy), "
                "so that one type's capacity shortage does not stop scaling.",
    severity="low",
    enforcement="advisory",
    controls=["fsbp:AutoScaling.6", "catalog:A4"],
    remediation="Use mixed_instances_policy=aws.autoscaling.GroupMixedInstancesPolicyArgs(launch_template="
                "...(launch_template_specification=..., overrides=[...(instance_type='t3.small'), "
                "...(instance_type='t3a.small')])) (aws-compute:fleet instance types).",
    types=[AUTOSCALING_GROUP],
    config={"minimumInstanceTypes": {"type": "integer", "minimum": 1, "maximum": 20, "default": 2,
                                     "description": "Fewest distinct instance types the group may launch."}},
)
def asg_multiple_instance_types(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    minimum = config["minimumInstanceTypes"]
    overrides = member(member(resource.get("mixedInstancesPolicy"), "launchTemplate"), "overrides")
    if is_unknown(overrides):
        yield unverifiable("mixedInstancesPolicy.launchTemplate.overrides")
        return
    types: set[str] = set()
    for i, override in indexed(overrides):
        if member(override, "instanceRequirements") is not None:
            return  # attribute-based selection: EC2 picks among every type that matches
        instance_type = member(override, "instanceType")
        if is_unknown(instance_type):
            yield unverifiable(f"mixedInstancesPolicy.launchTemplate.overrides[{i}].instanceType")
            return
        if isinstance(instance_type, str):
            types.add(instance_type)
    if len(types) < minimum:
        listed = ", ".join(sorted(types)) or "only the launch template's type"
        yield (f"mixedInstancesPolicy.launchTemplate.overrides name {len(types)} instance type(s) ({listed}); "
               f"allowed: at least {minimum}")


@resource_rule(
    name="asg-tags-propagate",
    description="Ensure Auto Scaling groups propagate their tags to the instances they launch.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_153", "catalog:A5"],
    remediation="Pass tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True) for k, v in "
                "standard_tags(...).items()].",
    types=[AUTOSCALING_GROUP],
    config={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": [],
                             "description": "Tag keys each group must propagate to its instances."}},
)
def asg_tags_propagate(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    tags = resource.get("tags")
    if is_unknown(tags):
        yield unverifiable("tags")
        return
    propagated = {member(t, "key") for t in as_list(tags) if member(t, "propagateAtLaunch") in (True, "true")}
    if not propagated:
        yield "no entry of tags has propagateAtLaunch = true, so launched instances are untagged; allowed: at " \
              "least one propagated tag"
    for key in config["requiredTags"]:
        if key not in propagated:
            yield f"tags has no propagated {key!r}; allowed: {key!r} with propagateAtLaunch = true"


@stack_rule(
    name="asg-multi-az",
    description="Ensure each Auto Scaling group's subnets (or availabilityZones) span at least two zones.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:AutoScaling.2", "catalog:A2"],
    remediation="Pass one private subnet per zone: vpc_zone_identifiers=network.private_subnet_ids "
                "(aws-compute:network.azCount 2 or more).",
    config=MINIMUM_ZONES,
)
def asg_multi_az(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    minimum = config["minimumZones"]
    for group in stack.of_type(AUTOSCALING_GROUP):
        zones, undecided = spanned_zones(stack, group)
        named_zones = as_list(group.get("availabilityZones"))
        zones |= {z for z in named_zones if isinstance(z, str) and not is_unknown(z)}
        undecided += UNKNOWN_LIST if is_unknown(group.get("availabilityZones")) else sum(map(is_unknown, named_zones))
        for message in zone_verdict(zones, undecided, minimum, "group", "vpcZoneIdentifiers"):
            yield group, message


def serves_load_balancer(stack: Stack, group: Resource) -> bool:
    """Whether the group registers its instances with a load balancer: through its own targetGroupArns,
    loadBalancers or trafficSources, or through an Attachment or TrafficSourceAttachment that names it."""
    if as_list(group.get("targetGroupArns")) or as_list(group.get("loadBalancers")):
        return True
    if any(str(member(s, "type")).lower() in LOAD_BALANCER_TRAFFIC for s in as_list(group.get("trafficSources"))):
        return True
    for attachment in stack.of_type(*ATTACHMENTS):
        traffic = attachment.get("trafficSource")
        if traffic is not None and str(member(traffic, "type")).lower() not in LOAD_BALANCER_TRAFFIC:
            continue
        if refers_to(attachment, "autoscalingGroupName", group, "name"):
            return True
    return False


@stack_rule(
    name="asg-elb-health-checks",
    description="Ensure Auto Scaling groups behind a load balancer replace instances that fail its health "
                "checks (healthCheckType ELB).",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_15", "fsbp:AutoScaling.1", "catalog:A3"],
    remediation="Set health_check_type='ELB' and health_check_grace_period=300 on the aws.autoscaling.Group.",
)
def asg_elb_health_checks(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for group in stack.of_type(AUTOSCALING_GROUP):
        if not serves_load_balancer(stack, group):
            continue
        check = group.get("healthCheckType")
        if is_unknown(check):
            yield group, unverifiable("healthCheckType")
        elif str(check).upper() != "ELB":
            yield group, (f"healthCheckType = {'not set' if check is None else repr(check)} (EC2 status checks "
                          f"only) although the group serves a load balancer; allowed: 'ELB'")
