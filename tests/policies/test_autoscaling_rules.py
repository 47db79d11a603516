"""Auto Scaling policies: each refuses what it exists to refuse and accepts the fix."""

from __future__ import annotations

from typing import Any

from policies.rules import Resource, Stack, rule_named
from policies.rules.autoscaling import ATTACHMENTS, AUTOSCALING_GROUP
from policies.rules.network import SUBNET

from .pack_client import as_recorded

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"


def check(policy: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(Resource(AUTOSCALING_GROUP, props), config)


def check_stack(policy: str, *resources: Resource) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(resources))]


def good_group(**overrides: Any) -> dict[str, Any]:
    """A group that every Auto Scaling policy accepts."""
    return {
        "id": "web-asg", "name": "web-asg", "minSize": 2, "maxSize": 4,
        "vpcZoneIdentifiers": ["subnet-a", "subnet-b"], "healthCheckType": "ELB",
        "targetGroupArns": [TARGET_GROUP_ARN],
        "mixedInstancesPolicy": {"launchTemplate": {
            "launchTemplateSpecification": {"launchTemplateId": "lt-1", "version": "$Latest"},
            "overrides": [{"instanceType": "t3.small"}, {"instanceType": "t3a.small"}]}},
        "tags": [{"key": "Project", "value": "aws-compute", "propagateAtLaunch": True}],
        **overrides,
    }


def group(name: str = "web", **overrides: Any) -> Resource:
    return Resource(AUTOSCALING_GROUP, good_group(**overrides), name=name, urn=f"urn:pulumi:dev::p::asg::{name}")


def subnet(subnet_id: str, zone: Any) -> Resource:
    return Resource(SUBNET, {"id": subnet_id, "availabilityZone": zone}, name=subnet_id,
                    urn=f"urn:pulumi:dev::p::{SUBNET}::{subnet_id}")


def test_the_good_group_passes_every_auto_scaling_policy():
    for policy in ("asg-uses-launch-template", "asg-multiple-instance-types", "asg-tags-propagate"):
        assert check(policy, good_group()) == [], policy
    stack = (group(), subnet("subnet-a", "us-east-1a"), subnet("subnet-b", "us-east-1b"))
    for policy in ("asg-multi-az", "asg-elb-health-checks"):
        assert check_stack(policy, *stack) == [], policy


# --- asg-uses-launch-template (A1) ---------------------------------------------------------------------------

def test_a_group_on_a_launch_configuration_is_refused():
    props = good_group(launchConfiguration="web-lc")
    del props["mixedInstancesPolicy"]
    assert check("asg-uses-launch-template", props) == [
        "launchConfiguration = 'web-lc'; allowed: launchTemplate or a mixed instances policy"]


def test_a_group_with_a_plain_launch_template_passes():
    props = good_group(launchTemplate={"id": "lt-1", "version": "$Latest"})
    del props["mixedInstancesPolicy"]
    assert check("asg-uses-launch-template", props) == []


# --- asg-multiple-instance-types (A4) ------------------------------------------------------------------------

def test_a_group_with_one_instance_type_is_refused():
    props = good_group(launchTemplate={"id": "lt-1"})
    del props["mixedInstancesPolicy"]
    assert check("asg-multiple-instance-types", props) == [
        "mixedInstancesPolicy.launchTemplate.overrides name 0 instance type(s) (only the launch template's type); "
        "allowed: at least 2"]


def test_repeating_one_type_in_the_overrides_does_not_count_twice():
    props = good_group()
    props["mixedInstancesPolicy"]["launchTemplate"]["overrides"] = [{"instanceType": "t3.small"}] * 2
    assert check("asg-multiple-instance-types", props)


def test_attribute_based_instance_selection_passes():
    props = good_group()
    props["mixedInstancesPolicy"]["launchTemplate"]["overrides"] = [
        {"instanceRequirements": {"vcpuCount": {"min": 2}, "memoryMib": {"min": 4096}}}]
    assert check("asg-multiple-instance-types", props) == []


# --- asg-tags-propagate (A5) ----------------------------------------------------------------------------------

def test_a_group_whose_tags_do_not_propagate_is_refused():
    props = good_group(tags=[{"key": "Project", "value": "aws-compute", "propagateAtLaunch": False}])
    [message] = check("asg-tags-propagate", props)
    assert message.startswith("no entry of tags has propagateAtLaunch = true")


def test_a_required_tag_that_does_not_propagate_is_refused():
    assert check("asg-tags-propagate", good_group(), {"requiredTags": ["Environment"]}) == [
        "tags has no propagated 'Environment'; allowed: 'Environment' with propagateAtLaunch = true"]


# --- asg-multi-az (A2) ----------------------------------------------------------------------------------------

def test_a_group_whose_subnets_share_one_zone_is_refused():
    stack = (group(), subnet("subnet-a", "us-east-1a"), subnet("subnet-b", "us-east-1a"))
    assert check_stack("asg-multi-az", *stack) == [
        ("web", "vpcZoneIdentifiers span 1 availability zone(s) (us-east-1a); allowed: at least 2")]


def test_subnets_are_found_through_property_dependencies_when_their_ids_are_unknown():
    a, b = subnet("subnet-a", "us-east-1a"), subnet("subnet-b", "us-east-1a")
    web = Resource(AUTOSCALING_GROUP, good_group(vpcZoneIdentifiers=[UNKNOWN, UNKNOWN]), name="web",
                   property_dependencies={"vpcZoneIdentifiers": (a.urn, b.urn)})
    [(_, message)] = check_stack("asg-multi-az", web, a, b)
    assert "span 1 availability zone(s)" in message


def test_a_subnet_of_another_stack_makes_the_zones_unverifiable():
    stack = (group(vpcZoneIdentifiers=["subnet-a", "subnet-elsewhere"]), subnet("subnet-a", "us-east-1a"))
    [(_, message)] = check_stack("asg-multi-az", *stack)
    assert "cannot be verified during preview" in message


def test_a_group_listing_one_subnet_of_another_stack_is_refused_as_one_subnet_is_one_zone():
    [(_, message)] = check_stack("asg-multi-az", group(vpcZoneIdentifiers=["subnet-elsewhere"]))
    assert message == ("vpcZoneIdentifiers name 1 subnet(s) or zone(s), so they span at most 1 availability "
                       "zone(s); allowed: at least 2")


def test_a_group_listing_the_same_outside_subnet_twice_spans_one_zone():
    [(_, message)] = check_stack("asg-multi-az", group(vpcZoneIdentifiers=["subnet-x", "subnet-x"]))
    assert "span at most 1" in message


def test_a_group_with_one_unknown_subnet_id_is_refused():
    [(_, message)] = check_stack("asg-multi-az", group(vpcZoneIdentifiers=[UNKNOWN]))
    assert "span at most 1" in message


def test_a_group_whose_whole_subnet_list_is_unknown_cannot_be_verified():
    [(_, message)] = check_stack("asg-multi-az", group(vpcZoneIdentifiers=UNKNOWN))
    assert "cannot be verified during preview" in message


def test_a_group_with_two_explicit_availability_zones_passes():
    props = good_group(availabilityZones=["us-east-1a", "us-east-1b"])
    del props["vpcZoneIdentifiers"]
    assert check_stack("asg-multi-az", Resource(AUTOSCALING_GROUP, props, name="classic")) == []


# --- asg-elb-health-checks (A3) --------------------------------------------------------------------------------

def test_a_group_behind_a_target_group_with_ec2_health_checks_is_refused():
    [(name, message)] = check_stack("asg-elb-health-checks", group(healthCheckType="EC2"))
    assert name == "web" and message.startswith("healthCheckType = 'EC2'")


def test_a_group_attached_by_a_separate_attachment_needs_elb_health_checks_too():
    web = group(targetGroupArns=[], healthCheckType=None)
    link = Resource(ATTACHMENTS[0], {"autoscalingGroupName": "web-asg", "lbTargetGroupArn": TARGET_GROUP_ARN},
                    name="attach")
    [(_, message)] = check_stack("asg-elb-health-checks", web, link)
    assert message.startswith("healthCheckType = not set")


def test_a_group_behind_no_load_balancer_may_use_ec2_health_checks():
    assert check_stack("asg-elb-health-checks", group(targetGroupArns=[], healthCheckType="EC2")) == []


# --- through the real pack -------------------------------------------------------------------------------------

def test_the_pack_reports_auto_scaling_findings_over_grpc(pack):
    bad_props = good_group(healthCheckType="EC2", vpcZoneIdentifiers=["subnet-a"], launchConfiguration="lc",
                           tags=[])
    del bad_props["mixedInstancesPolicy"]
    bad = as_recorded(AUTOSCALING_GROUP, bad_props, name="fragile")
    good = as_recorded(AUTOSCALING_GROUP, good_group(), name="sturdy")
    subnets = [as_recorded(SUBNET, {"availabilityZone": zone}, name=subnet_id,
                           outputs={"id": subnet_id, "availabilityZone": zone})
               for subnet_id, zone in (("subnet-a", "us-east-1a"), ("subnet-b", "us-east-1b"))]
    findings = pack.analyze([bad, good, *subnets])
    ours = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings if f.policy.startswith("asg-")}
    assert ours >= {("asg-uses-launch-template", "fragile"), ("asg-multiple-instance-types", "fragile"),
                    ("asg-tags-propagate", "fragile"), ("asg-multi-az", "fragile"),
                    ("asg-elb-health-checks", "fragile")}
    assert not [policy for policy, name in ours if name == "sturdy"]
