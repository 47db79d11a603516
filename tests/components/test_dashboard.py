"""The stack's dashboard: its body as a pure function, and the recorded dev stack's widgets naming its resources."""

from __future__ import annotations

import json

from components.alarms import Watched, arn_suffix
from components.dashboard import dashboard_body, dashboard_url

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def graphs(body: dict) -> dict[str, list]:
    return {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}


def names(metrics: list) -> set[str]:
    return {line[1] for line in metrics}


def test_a_disabled_layer_gets_no_graph():
    titles = set(graphs(dashboard_body(Watched(function_name="f"), "us-east-1", "ns")))
    assert titles == {"Function: invocations, errors, throttles", "Function: duration (p90)"}


def test_graphs_are_laid_out_two_to_a_row():
    body = dashboard_body(Watched(function_name="f", api_id="a"), "us-east-1", "ns")
    assert [(w["x"], w["y"], w["width"]) for w in body["widgets"]] == [(0, 0, 12), (12, 0, 12), (0, 6, 12)]
    assert {w["properties"]["region"] for w in body["widgets"]} == {"us-east-1"}


def test_the_url_opens_the_dashboard_in_its_region():
    assert dashboard_url("eu-west-1", "aws-compute-prod") == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#dashboards/dashboard/aws-compute-prod")


def recorded_body(recording) -> dict:
    [dashboard] = recording.of_type(DASHBOARD)
    return json.loads(dashboard.inputs["dashboardBody"])


def only(recording, type_token, name):
    [found] = [r for r in recording.of_type(type_token) if r.name == name]
    return found


def test_the_load_balancer_graphs_name_the_stacks_alb_and_target_groups(dev_stack):
    shown = graphs(recorded_body(dev_stack))
    alb = only(dev_stack, "aws:lb/loadBalancer:LoadBalancer", "lb-alb").outputs["arnSuffix"]
    requests = shown["Load balancer: requests and errors"]
    assert names(requests) == {"RequestCount", "HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count",
                               "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count"}
    assert {line[3] for line in requests} == {alb}
    assert shown["Load balancer: target response time (p90)"][0][1:4] == ["TargetResponseTime", "LoadBalancer", alb]
    health = shown["Load balancer: healthy and unhealthy targets"]
    target_groups = {arn_suffix(only(dev_stack, "aws:lb/targetGroup:TargetGroup", name).outputs["arn"])
                     for name in ("fleet-tg", "web-tg")}
    assert {line[3] for line in health} == target_groups
    assert names(health) == {"HealthyHostCount", "UnHealthyHostCount"}


def test_the_fleet_graphs_show_cpu_instances_and_the_agents_memory_and_disk(dev_stack):
    shown = graphs(recorded_body(dev_stack))
    group = only(dev_stack, "aws:autoscaling/group:Group", "fleet-asg").outputs["name"]
    assert [line[:4] for line in shown["Fleet: CPU and in-service instances"]] == [
        ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", group],
        ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", group]]
    assert [line[:4] for line in shown["Fleet: memory and root disk use (%, worst instance)"]] == [
        ["aws-compute/dev", "mem_used_percent", "AutoScalingGroupName", group],
        ["aws-compute/dev", "disk_used_percent", "AutoScalingGroupName", group]]


def test_the_server_graphs_name_its_instance(dev_stack):
    shown = graphs(recorded_body(dev_stack))
    instance = only(dev_stack, "aws:ec2/instance:Instance", "server-instance").id
    lines = shown["Server: CPU and status checks"] + shown["Server: memory and root disk use (%)"]
    assert {(line[2], line[3]) for line in lines} == {("InstanceId", instance)}
    assert names(lines) == {"CPUUtilization", "StatusCheckFailed", "mem_used_percent", "disk_used_percent"}


def test_the_function_and_api_graphs_name_them(dev_stack):
    shown = graphs(recorded_body(dev_stack))
    function = only(dev_stack, "aws:lambda/function:Function", "function-function").inputs["name"]
    api = only(dev_stack, "aws:apigatewayv2/api:Api", "function-api").id
    lambda_lines = shown["Function: invocations, errors, throttles"] + shown["Function: duration (p90)"]
    assert {line[3] for line in lambda_lines} == {function}
    assert names(lambda_lines) == {"Invocations", "Errors", "Throttles", "Duration"}
    api_lines = shown["HTTP API: requests and errors"]
    assert {line[3] for line in api_lines} == {api} and names(api_lines) == {"Count", "4xx", "5xx"}


def test_the_service_graphs_show_cpu_memory_and_tasks_of_its_cluster_and_service(dev_stack):
    shown = graphs(recorded_body(dev_stack))
    cluster = only(dev_stack, "aws:ecs/cluster:Cluster", "web-cluster").outputs["name"]
    service = only(dev_stack, "aws:ecs/service:Service", "web-service").outputs["name"]
    lines = shown["Service: CPU and memory (%)"] + shown["Service: running and desired tasks"]
    assert {tuple(line[2:6]) for line in lines} == {("ClusterName", cluster, "ServiceName", service)}
    assert names(lines) == {"CPUUtilization", "MemoryUtilization", "RunningTaskCount", "DesiredTaskCount"}


def test_the_dashboard_url_is_a_stack_output(dev_stack):
    assert dev_stack.outputs["dashboardUrl"] == dashboard_url("us-east-1", "aws-compute-dev")
    [dashboard] = dev_stack.of_type(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == "aws-compute-dev"
