"""The Fleet component: pure planners, and the dev (step scaling, one type) and prod (mixed) stacks under mocks."""

from __future__ import annotations

import base64
import json

import pytest

from components.config import load_stack_config
from components.fleet import (
    autoscaling_role_suffix,
    health_alarm_plan,
    service_environment,
    step_scaling_plan,
)

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
SG = "aws:ec2/securityGroup:SecurityGroup"
TG = "aws:lb/targetGroup:TargetGroup"
POLICY = "aws:autoscaling/policy:Policy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "arn:aws:sns:us-east-1:123456789012:fleet-alarms"


def fleet_settings(**values: object):
    raw = {"aws:region": "us-east-1", **{f"aws-compute:fleet.{k}": json.dumps(v) for k, v in values.items()}}
    return load_stack_config(raw, "dev").fleet


def only(recording, type_token, name=None):
    found = [r for r in recording.of_type(type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def alarms(recording):
    return {r.name: r for r in recording.of_type(ALARM)}


# --- pure planners ----------------------------------------------------------------------------------


def test_step_scaling_adds_at_or_above_scale_out_cpu_and_removes_at_or_below_scale_in_cpu():
    out, back = step_scaling_plan(fleet_settings(scaleOutCpu=75, scaleInCpu=20, scaleOutBy=2))
    assert (out.alarm.comparison, out.alarm.threshold, out.adjustment) == ("GreaterThanOrEqualToThreshold", 75, 2)
    assert (back.alarm.comparison, back.alarm.threshold, back.adjustment) == ("LessThanOrEqualToThreshold", 20, -1)


def test_each_step_starts_at_its_alarms_threshold_in_the_alarms_direction():
    out, back = step_scaling_plan(fleet_settings())
    assert out.step == {"scaling_adjustment": 1, "metric_interval_lower_bound": "0"}
    assert back.step == {"scaling_adjustment": -1, "metric_interval_upper_bound": "0"}


def test_cpu_alarms_wait_the_configured_evaluation_periods():
    assert {p.alarm.evaluation_periods for p in step_scaling_plan(fleet_settings(evaluationPeriods=4))} == {4}


def test_health_alarms_watch_unhealthy_hosts_and_target_5xx():
    plan = {a.metric: a for a in health_alarm_plan(fleet_settings(unhealthyThreshold=4))}
    assert set(plan) == {"UnHealthyHostCount", "HTTPCode_Target_5XX_Count"}
    assert plan["UnHealthyHostCount"].evaluation_periods == 4
    assert all(a.namespace == "AWS/ApplicationELB" for a in plan.values())


def test_the_service_keeps_connections_open_longer_than_the_load_balancer():
    env = service_environment(fleet_settings(servicePort=9000), "dev", lb_idle_timeout=60)
    assert env["PORT"] == "9000"
    assert int(env["IDLE_TIMEOUT_SECONDS"]) > 60


# --- the group --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev_stack", "prod_stack"])
def test_the_group_spans_the_private_subnet_of_every_az(stack, request):
    recording = request.getfixturevalue(stack)
    private = {r.id for r in recording.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"]["Tier"] == "private"}
    assert set(only(recording, ASG).inputs["vpcZoneIdentifiers"]) == private


def test_group_sizes_follow_the_config(dev_stack, prod_stack):
    assert [only(dev_stack, ASG).inputs[k] for k in ("minSize", "desiredCapacity", "maxSize")] == [1, 1, 3]
    assert [only(prod_stack, ASG).inputs[k] for k in ("minSize", "desiredCapacity", "maxSize")] == [2, 2, 6]


def test_the_group_replaces_instances_that_fail_elb_health_checks_after_the_grace_period(dev_stack):
    group = only(dev_stack, ASG)
    assert group.inputs["healthCheckType"] == "ELB"
    assert group.inputs["healthCheckGracePeriod"] == 300
    assert group.inputs["targetGroupArns"] == [only(dev_stack, TG, "fleet-tg").outputs["arn"]]


def test_the_group_tags_the_instances_it_launches(dev_stack):
    tags = {t["key"]: t for t in only(dev_stack, ASG).inputs["tags"]}
    assert tags["Environment"] == {"key": "Environment", "value": "dev", "propagateAtLaunch": True}


def test_the_group_collects_metrics_every_minute(dev_stack):
    group = only(dev_stack, ASG)
    assert group.inputs["metricsGranularity"] == "1Minute"
    assert "GroupInServiceInstances" in group.inputs["enabledMetrics"]


def test_a_launch_template_change_rolls_through_the_instances(stack_with):
    recording = stack_with("dev", {}, removed=("aws-compute:fleet.instanceTypes",))
    group, template = only(recording, ASG), only(recording, LT)
    assert group.inputs["instanceRefresh"]["strategy"] == "Rolling"
    # A replacement is in service before the instance it replaces is terminated, even in a group of one.
    preferences = group.inputs["instanceRefresh"]["preferences"]
    assert (preferences["minHealthyPercentage"], preferences["maxHealthyPercentage"]) == (100, 200)
    # The template's version number, not "$Latest", is what makes a change start a refresh.
    assert group.inputs["launchTemplate"] == {"id": template.id, "version": str(template.outputs.get("latestVersion"))}
    assert "mixedInstancesPolicy" not in group.inputs
    assert template.inputs["instanceType"] == "t3.micro"


def test_a_mixed_group_also_pins_the_launch_template_version(dev_stack):
    group, template = only(dev_stack, ASG), only(dev_stack, LT)
    specification = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]
    assert specification == {"launchTemplateId": template.id, "version": str(template.outputs.get("latestVersion"))}


def test_prod_mixes_instance_types_with_on_demand_base_and_spot_share(prod_stack):
    group, template = only(prod_stack, ASG), only(prod_stack, LT)
    policy = group.inputs["mixedInstancesPolicy"]
    assert "launchTemplate" not in group.inputs
    assert policy["instancesDistribution"] == {"onDemandBaseCapacity": 2, "onDemandPercentageAboveBaseCapacity": 50,
                                               "spotAllocationStrategy": "price-capacity-optimized"}
    assert [o["instanceType"] for o in policy["launchTemplate"]["overrides"]] == ["t3.small", "t3a.small", "m6i.large"]
    assert policy["launchTemplate"]["launchTemplateSpecification"]["launchTemplateId"] == template.id
    assert "instanceType" not in template.inputs


# --- instances --------------------------------------------------------------------------------------


def test_instances_admit_the_service_port_only_from_the_albs_security_group(dev_stack):
    (ingress,) = only(dev_stack, SG, "fleet-sg").inputs["ingress"]
    assert (ingress["fromPort"], ingress["toPort"]) == (8080, 8080)
    assert ingress["securityGroups"] == [only(dev_stack, SG, "lb-sg").id]
    assert "cidrBlocks" not in ingress


def test_the_launch_template_requires_imdsv2_with_hop_limit_one(dev_stack):
    options = only(dev_stack, LT).inputs["metadataOptions"]
    assert options["httpTokens"] == "required"
    assert options["httpPutResponseHopLimit"] == 1


def test_the_root_volume_is_encrypted_with_the_stack_key(dev_stack):
    (mapping,) = only(dev_stack, LT).inputs["blockDeviceMappings"]
    assert mapping["ebs"]["encrypted"] == "true"
    assert mapping["ebs"]["kmsKeyId"] == only(dev_stack, "aws:kms/key:Key").outputs["arn"]


def test_instances_get_no_public_ip_and_only_the_fleet_security_group(dev_stack):
    (interface,) = only(dev_stack, LT).inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    assert interface["securityGroups"] == [only(dev_stack, SG, "fleet-sg").id]


def test_the_image_comes_from_the_ssm_parameter_unless_configured(dev_stack, stack_with):
    assert only(dev_stack, LT).inputs["imageId"].startswith("ami-")
    pinned = stack_with("dev", {"aws-compute:fleet.amiId": "ami-0123456789abcdef0"})
    assert only(pinned, LT).inputs["imageId"] == "ami-0123456789abcdef0"


def test_the_user_data_starts_the_web_service_on_the_service_port(dev_stack):
    script = base64.b64decode(only(dev_stack, LT).inputs["userData"]).decode()
    assert script.startswith("#!")
    assert 'PORT="8080"' in script


def test_instances_and_volumes_are_tagged_at_launch(dev_stack):
    specs = {s["resourceType"]: s["tags"] for s in only(dev_stack, LT).inputs["tagSpecifications"]}
    assert {"instance", "volume"} <= set(specs)
    assert all(tags["Environment"] == "dev" and tags["Project"] == "aws-compute" for tags in specs.values())


def test_auto_scaling_may_use_the_stack_key_before_the_group_launches(dev_stack):
    grant = only(dev_stack, "aws:kms/grant:Grant", "fleet-key-grant")
    assert grant.inputs["keyId"] == only(dev_stack, "aws:kms/key:Key").outputs["arn"]
    assert {"GenerateDataKeyWithoutPlaintext", "CreateGrant", "Decrypt"} <= set(grant.inputs["operations"])
    assert grant.urn in only(dev_stack, ASG).dependencies


@pytest.mark.parametrize("stack", ["dev_stack", "prod_stack"])
def test_the_stack_owns_the_service_linked_role_that_the_group_and_the_grant_use(stack, request):
    recording = request.getfixturevalue(stack)
    role = only(recording, "aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert role.inputs["awsServiceName"] == "autoscaling.amazonaws.com"
    assert role.inputs["customSuffix"] == f"aws-compute-{recording.stack}"
    grant = only(recording, "aws:kms/grant:Grant", "fleet-key-grant")
    group = only(recording, ASG)
    assert grant.inputs["granteePrincipal"] == role.outputs["arn"]
    assert group.inputs["serviceLinkedRoleArn"] == role.outputs["arn"]
    assert role.urn in grant.dependencies and role.urn in group.dependencies


def test_the_role_suffix_fits_iams_64_character_role_names():
    suffix = autoscaling_role_suffix("a-very-long-project-name-" + "x" * 40 + "-dev")
    assert len("AWSServiceRoleForAutoScaling_" + suffix) == 64
    assert autoscaling_role_suffix("proj-stack/with spaces") == "proj-stack-with-spaces"


def test_the_instance_profile_carries_the_ssm_role(dev_stack):
    role = only(dev_stack, "aws:iam/role:Role", "fleet-role")
    profile = only(dev_stack, "aws:iam/instanceProfile:InstanceProfile", "fleet-profile")
    assert profile.inputs["role"] == role.outputs["name"]
    assert only(dev_stack, LT).inputs["iamInstanceProfile"] == {"arn": profile.outputs["arn"]}


# --- target group and route -------------------------------------------------------------------------


def test_the_target_group_checks_slash_health_with_the_configured_thresholds(dev_stack):
    group = only(dev_stack, TG, "fleet-tg")
    assert (group.inputs["protocol"], group.inputs["port"]) == ("HTTP", 8080)
    check = group.inputs["healthCheck"]
    assert (check["path"], check["interval"], check["timeout"]) == ("/health", 15, 5)
    assert (check["healthyThreshold"], check["unhealthyThreshold"]) == (2, 3)
    assert group.inputs["deregistrationDelay"] == 30


def test_the_fleet_is_routed_from_the_load_balancer_at_its_priority(dev_stack):
    rule = only(dev_stack, "aws:lb/listenerRule:ListenerRule", "lb-fleet")
    assert rule.inputs["priority"] == 100
    target_group_arn = only(dev_stack, TG, "fleet-tg").outputs["arn"]
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": target_group_arn}]
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}]


# --- scaling and alarms -----------------------------------------------------------------------------


def test_step_scaling_alarms_trigger_their_policies(dev_stack):
    policies = {r.name: r for r in dev_stack.of_type(POLICY)}
    found = alarms(dev_stack)
    assert found["fleet-cpu-high"].inputs["alarmActions"] == [policies["fleet-scale-out"].outputs["arn"]]
    assert found["fleet-cpu-low"].inputs["alarmActions"] == [policies["fleet-scale-in"].outputs["arn"]]
    assert (found["fleet-cpu-high"].inputs["threshold"], found["fleet-cpu-low"].inputs["threshold"]) == (60, 30)
    group_name = only(dev_stack, ASG).outputs["name"]
    assert found["fleet-cpu-high"].inputs["dimensions"] == {"AutoScalingGroupName": group_name}


def test_target_tracking_replaces_the_step_policies_and_their_alarms(stack_with):
    recording = stack_with("dev", {"aws-compute:fleet.scaling": "target-tracking", "aws-compute:fleet.targetCpu": "45"})
    (policy,) = recording.of_type(POLICY)
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert policy.inputs["targetTrackingConfiguration"]["targetValue"] == 45
    assert not {"fleet-cpu-high", "fleet-cpu-low"} & set(alarms(recording))


def test_health_alarms_watch_the_fleets_target_group_on_its_load_balancer(dev_stack):
    found = alarms(dev_stack)
    expected = {"TargetGroup": only(dev_stack, TG, "fleet-tg").outputs["arnSuffix"],
                "LoadBalancer": only(dev_stack, "aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]}
    assert found["fleet-unhealthy-hosts"].inputs["dimensions"] == expected
    assert found["fleet-target-5xx"].inputs["dimensions"] == expected
    assert found["fleet-unhealthy-hosts"].inputs["alarmActions"] == []


def test_health_alarms_notify_the_configured_topic(stack_with):
    found = alarms(stack_with("dev", {"aws-compute:fleet.alarmTopicArn": TOPIC}))
    assert found["fleet-unhealthy-hosts"].inputs["alarmActions"] == [TOPIC]
    assert found["fleet-target-5xx"].inputs["okActions"] == [TOPIC]


def test_a_disabled_fleet_creates_nothing(stack_with):
    recording = stack_with("dev", {"aws-compute:fleet.enabled": "false"})
    assert recording.of_type(ASG) == [] and recording.of_type(LT) == []
