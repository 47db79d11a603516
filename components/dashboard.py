"""One CloudWatch dashboard per stack: a row of graphs per layer the config enables, each naming the stack's
real resources. ``dashboard_body`` builds it from their identifiers, without Pulumi."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

import pulumi
import pulumi_aws as aws

from .alarms import AGENT_DISK_METRIC, AGENT_MEMORY_METRIC, Watched
from .context import DeployContext
from .operations import group_dimension

WIDTH, HEIGHT = 12, 6  # two graphs per row of the dashboard's 24-column grid
PERIOD = 60


def dashboard_body(watched: Watched[str], region: str, namespace: str) -> dict[str, Any]:
    """CloudWatch's dashboard body: metric graphs laid out two to a row, in the order of the layers."""
    graphs: list[tuple[str, list[list[Any]]]] = []
    lb, server, group = watched.load_balancer, watched.server_instance_id, watched.fleet_group
    if lb is not None:
        graphs.append(("Load balancer: requests and errors", [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_ELB_4XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
        ]))
        graphs.append(("Load balancer: target response time (p90)", [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lb, {"stat": "p90"}],
        ]))
        hosts = [(layer, tg) for layer, tg in (("fleet", watched.fleet_target_group),
                                               ("service", watched.service_target_group)) if tg is not None]
        graphs.append(("Load balancer: healthy and unhealthy targets", [
            ["AWS/ApplicationELB", metric, "TargetGroup", tg, "LoadBalancer", lb,
             {"stat": "Minimum" if metric.startswith("Healthy") else "Maximum", "label": f"{layer} {metric}"}]
            for layer, tg in hosts for metric in ("HealthyHostCount", "UnHealthyHostCount")
        ]))
    if group is not None:
        graphs.append(("Fleet: CPU and in-service instances", [
            ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", group, {"stat": "Average"}],
            ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", group,
             {"stat": "Average", "yAxis": "right"}],
        ]))
        graphs.append(("Fleet: memory and root disk use (%, worst instance)", [
            [namespace, metric, group_dimension("fleet"), group, {"stat": "Maximum"}]
            for metric in (AGENT_MEMORY_METRIC, AGENT_DISK_METRIC)
        ]))
    if server is not None:
        graphs.append(("Server: CPU and status checks", [
            ["AWS/EC2", "CPUUtilization", "InstanceId", server, {"stat": "Average"}],
            ["AWS/EC2", "StatusCheckFailed", "InstanceId", server, {"stat": "Maximum", "yAxis": "right"}],
        ]))
        graphs.append(("Server: memory and root disk use (%)", [
            [namespace, metric, group_dimension("server"), server, {"stat": "Maximum"}]
            for metric in (AGENT_MEMORY_METRIC, AGENT_DISK_METRIC)
        ]))
    if watched.function_name is not None:
        function = watched.function_name
        graphs.append(("Function: invocations, errors, throttles", [
            ["AWS/Lambda", metric, "FunctionName", function, {"stat": "Sum"}]
            for metric in ("Invocations", "Errors", "Throttles")
        ]))
        graphs.append(("Function: duration (p90)", [
            ["AWS/Lambda", "Duration", "FunctionName", function, {"stat": "p90"}],
        ]))
    if watched.api_id is not None:
        graphs.append(("HTTP API: requests and errors", [
            ["AWS/ApiGateway", metric, "ApiId", watched.api_id, {"stat": "Sum"}] for metric in ("Count", "4xx", "5xx")
        ]))
    if watched.cluster_name is not None and watched.service_name is not None:
        service = ["ClusterName", watched.cluster_name, "ServiceName", watched.service_name]
        graphs.append(("Service: CPU and memory (%)", [
            ["AWS/ECS", metric, *service, {"stat": "Average"}] for metric in ("CPUUtilization", "MemoryUtilization")
        ]))
        graphs.append(("Service: running and desired tasks", [
            ["ECS/ContainerInsights", metric, *service, {"stat": "Average"}]
            for metric in ("RunningTaskCount", "DesiredTaskCount")
        ]))
    return {"widgets": [
        {"type": "metric", "x": (i % 2) * WIDTH, "y": (i // 2) * HEIGHT, "width": WIDTH, "height": HEIGHT,
         "properties": {"title": title, "region": region, "view": "timeSeries", "period": PERIOD,
                        "metrics": metrics}}
        for i, (title, metrics) in enumerate(graphs)
    ]}


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


@dataclass(frozen=True)
class DashboardArgs:
    context: DeployContext
    watched: Watched[pulumi.Input[str]]
    namespace: str


class Dashboard(pulumi.ComponentResource):
    url: str

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:dashboard:Dashboard", name, None, opts)
        ctx = args.context
        dashboard_name = ctx.name_prefix  # dashboards are named by their caller; AWS has no auto-naming for them
        present = {f.name: getattr(args.watched, f.name) for f in fields(args.watched)
                   if getattr(args.watched, f.name) is not None}
        body = pulumi.Output.all(**present).apply(lambda values: json.dumps(
            dashboard_body(Watched(**values), ctx.region, args.namespace), sort_keys=True))
        aws.cloudwatch.Dashboard(name, dashboard_name=dashboard_name, dashboard_body=body,
                                 opts=pulumi.ResourceOptions(parent=self))
        self.url = dashboard_url(ctx.region, dashboard_name)
        self.register_outputs({"url": self.url})
