"""Alarms on every layer: the plan (each alarm's metric, dimensions and threshold) and the recorded stacks."""

from __future__ import annotations

import pytest

from components.alarms import Watched, alarm_plan, arn_suffix, recover_supported
from components.config import load_stack_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PROD_TOPIC = "arn:aws:sns:eu-west-1:123456789012:aws-compute-prod-alarms"
WATCHED = Watched(server_instance_id="i-0123456789abcdef0", server_instance_type="t4g.micro",
                  load_balancer="app/alb/1", fleet_group="fleet-asg", fleet_target_group="targetgroup/tg/1",
                  function_name="aws-compute-dev-function", api_id="a1b2c3", cluster_name="web-cluster",
                  service_name="web-service", service_target_group="targetgroup/web/2")


def settings(**values: str):
    return load_stack_config({"aws:region": "us-east-1",
                              **{f"aws-compute:operations.{k}": v for k, v in values.items()}}, "dev").operations


def plan(watched: Watched = WATCHED, **values: str) -> dict:
    return {spec.role: spec for spec in alarm_plan(settings(**values), watched, "aws-compute/dev", "aws",
                                                   "us-east-1")}


def single(spec):
    [metric] = spec.metrics
    return metric.namespace, metric.name, metric.statistic, metric.dimensions


# --- the plan ------------------------------------------------------------------------------------------


def test_every_layer_gets_its_alarms():
    assert set(plan()) == {"server-system-check", "server-instance-check", "server-disk", "fleet-disk",
                           "function-errors", "function-throttles", "api-5xx", "service-running-tasks",
                           "service-cpu", "service-memory"}


def test_a_disabled_layer_gets_none():
    assert set(plan(Watched(function_name="f", api_id="a"))) == {"function-errors", "function-throttles", "api-5xx"}


def test_the_servers_system_check_recovers_the_instance_where_the_type_allows():
    spec = plan()["server-system-check"]
    assert single(spec) == ("AWS/EC2", "StatusCheckFailed_System", "Maximum", {"InstanceId": "i-0123456789abcdef0"})
    assert (spec.comparison, spec.threshold) == ("GreaterThanOrEqualToThreshold", 1)
    assert spec.extra_actions == ("arn:aws:automate:us-east-1:ec2:recover",)


def test_an_instance_type_with_instance_store_gets_no_recover_action():
    watched = Watched(server_instance_id="i-1", server_instance_type="m5d.large")
    assert plan(watched)["server-system-check"].extra_actions == ()


@pytest.mark.parametrize(("instance_type", "supported"), [("t4g.micro", True), ("t3.small", True),
                                                          ("m5.large", True), ("m5d.large", False),
                                                          ("i3.large", False), ("c6gd.large", False)])
def test_recover_is_supported_for_ebs_only_families_the_ec2_guide_lists(instance_type, supported):
    assert recover_supported(instance_type) is supported


def test_the_instance_check_only_notifies():
    spec = plan()["server-instance-check"]
    assert single(spec)[1] == "StatusCheckFailed_Instance" and spec.extra_actions == ()


def test_disk_alarms_read_the_agents_metric_above_the_configured_threshold():
    specs = plan(**{"diskUsedPercent": "90"})
    assert single(specs["server-disk"]) == ("aws-compute/dev", "disk_used_percent", "Maximum",
                                            {"InstanceId": "i-0123456789abcdef0"})
    assert single(specs["fleet-disk"]) == ("aws-compute/dev", "disk_used_percent", "Maximum",
                                           {"AutoScalingGroupName": "fleet-asg"})
    assert {specs["server-disk"].threshold, specs["fleet-disk"].threshold} == {90}
    assert specs["fleet-disk"].comparison == "GreaterThanThreshold"


def test_the_function_alarms_on_errors_and_throttles_over_five_minutes():
    specs = plan(functionErrors="3", functionThrottles="7")
    assert single(specs["function-errors"]) == ("AWS/Lambda", "Errors", "Sum",
                                                {"FunctionName": "aws-compute-dev-function"})
    assert single(specs["function-throttles"]) == ("AWS/Lambda", "Throttles", "Sum",
                                                   {"FunctionName": "aws-compute-dev-function"})
    assert (specs["function-errors"].threshold, specs["function-throttles"].threshold) == (3, 7)
    assert specs["function-errors"].period == 300


def test_the_api_alarms_on_5xx_responses():
    spec = plan(apiServerErrors="12")["api-5xx"]
    assert single(spec) == ("AWS/ApiGateway", "5xx", "Sum", {"ApiId": "a1b2c3"})
    assert spec.threshold == 12


def test_the_service_alarms_when_running_tasks_stay_below_desired():
    spec = plan()["service-running-tasks"]
    dimensions = {"ClusterName": "web-cluster", "ServiceName": "web-service"}
    assert [(m.id, m.namespace, m.name, m.dimensions) for m in spec.metrics] == [
        ("desired", "ECS/ContainerInsights", "DesiredTaskCount", dimensions),
        ("running", "ECS/ContainerInsights", "RunningTaskCount", dimensions)]
    assert (spec.expression, spec.comparison, spec.threshold) == ("desired - running", "GreaterThanThreshold", 0)
    assert spec.period * spec.evaluation_periods == 300


def test_the_service_alarms_on_cpu_and_memory_above_the_thresholds():
    specs = plan(serviceCpuPercent="70", serviceMemoryPercent="75")
    dimensions = {"ClusterName": "web-cluster", "ServiceName": "web-service"}
    assert single(specs["service-cpu"]) == ("AWS/ECS", "CPUUtilization", "Average", dimensions)
    assert single(specs["service-memory"]) == ("AWS/ECS", "MemoryUtilization", "Average", dimensions)
    assert (specs["service-cpu"].threshold, specs["service-memory"].threshold) == (70, 75)


def test_arn_suffix_is_what_load_balancer_dimensions_use():
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fleet-tg/8524ea7f4a1f5504"
    assert arn_suffix(arn) == "targetgroup/fleet-tg/8524ea7f4a1f5504"


# --- the recorded stacks ---------------------------------------------------------------------------------


def alarms(recording) -> dict:
    return {r.name: r.inputs for r in recording.of_type(ALARM)}


def only(recording, type_token, name):
    [found] = [r for r in recording.of_type(type_token) if r.name == name]
    return found


def test_the_alarms_dimensions_name_the_stacks_real_resources(dev_stack):
    recorded = alarms(dev_stack)
    instance = only(dev_stack, "aws:ec2/instance:Instance", "server-instance")
    group = only(dev_stack, "aws:autoscaling/group:Group", "fleet-asg")
    function = only(dev_stack, "aws:lambda/function:Function", "function-function")
    api = only(dev_stack, "aws:apigatewayv2/api:Api", "function-api")
    cluster = only(dev_stack, "aws:ecs/cluster:Cluster", "web-cluster")
    service = only(dev_stack, "aws:ecs/service:Service", "web-service")
    assert recorded["alarms-server-system-check"]["dimensions"] == {"InstanceId": instance.id}
    assert recorded["alarms-server-disk"]["dimensions"] == {"InstanceId": instance.id}
    assert recorded["alarms-fleet-disk"]["dimensions"] == {"AutoScalingGroupName": group.outputs["name"]}
    assert recorded["alarms-function-errors"]["dimensions"] == {"FunctionName": function.inputs["name"]}
    assert recorded["alarms-api-5xx"]["dimensions"] == {"ApiId": api.id}
    assert recorded["alarms-service-cpu"]["dimensions"] == {"ClusterName": cluster.outputs["name"],
                                                           "ServiceName": service.outputs["name"]}


def test_the_running_tasks_alarm_is_metric_math_over_container_insights(dev_stack):
    queries = {q["id"]: q for q in alarms(dev_stack)["alarms-service-running-tasks"]["metricQueries"]}
    assert queries["e"]["expression"] == "desired - running" and queries["e"]["returnData"] is True
    assert queries["running"]["metric"]["metricName"] == "RunningTaskCount"
    assert queries["running"]["metric"]["namespace"] == "ECS/ContainerInsights"


def test_prods_alarms_notify_the_topic_and_the_server_recovers(prod_stack):
    recorded = alarms(prod_stack)
    for name in ("alarms-api-5xx", "alarms-service-running-tasks", "alarms-fleet-disk", "fleet-unhealthy-hosts"):
        assert recorded[name]["alarmActions"] == [PROD_TOPIC], name
    assert recorded["alarms-server-system-check"]["alarmActions"] == [
        PROD_TOPIC, "arn:aws:automate:eu-west-1:ec2:recover"]


def test_without_a_topic_alarms_have_no_notification(dev_stack):
    assert alarms(dev_stack)["alarms-function-errors"]["alarmActions"] == []
