"""Alarms on every layer, to the stack's SNS topic when one is configured (operations.alarmTopicArn, else
fleet.alarmTopicArn). The fleet's own scaling and health alarms stay in components/fleet.py; this module adds:

- the server: EC2's system status check (with EC2's recover action where the instance type supports it), the
  instance status check, and root disk use from the CloudWatch agent;
- the fleet: root disk use from the agent, the worst instance of the group;
- the function: Lambda errors and throttles; its HTTP API: 5xx responses;
- the service: running tasks below desired (Container Insights, which the cluster enables), CPU and memory.

``alarm_plan`` decides every alarm from the config and the watched resources' identifiers, without Pulumi.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pulumi
import pulumi_aws as aws

from .config import OperationsSettings
from .context import DeployContext
from .operations import group_dimension
from .tags import with_name

T = TypeVar("T")
AGENT_DISK_METRIC = "disk_used_percent"
AGENT_MEMORY_METRIC = "mem_used_percent"
# The instance families whose instances EC2's recover action supports (EC2 user guide, "Recover your instance":
# EBS-only instances of these types in a VPC with default or dedicated tenancy). Families with instance store
# (m5d, c6gd, ...) are not listed, so they never get the action.
RECOVERABLE_FAMILIES = frozenset({
    "a1", "c3", "c4", "c5", "c5a", "c5n", "c6g", "inf1", "m3", "m4", "m5", "m5a", "m5n", "m6g", "p3", "r3", "r4",
    "r5", "r5a", "r5n", "r6g", "t2", "t3", "t3a", "t4g", "x1", "x1e",
})


def recover_supported(instance_type: str) -> bool:
    return instance_type.split(".", 1)[0] in RECOVERABLE_FAMILIES


def recover_action_arn(partition: str, region: str) -> str:
    return f"arn:{partition}:automate:{region}:ec2:recover"


def arn_suffix(arn: str) -> str:
    """The part of a load balancer or target group ARN that CloudWatch dimensions use: "targetgroup/name/id"."""
    return arn.split(":", 5)[-1]


@dataclass(frozen=True)
class Watched(Generic[T]):
    """The identifiers of what the stack runs, as CloudWatch dimensions need them; None for a layer the config
    disables. ``T`` is str in tests, pulumi.Input[str] in the program."""

    server_instance_id: T | None = None
    server_instance_type: str = ""
    load_balancer: T | None = None
    """The ALB's ARN suffix, "app/name/id"."""
    fleet_group: T | None = None
    fleet_target_group: T | None = None
    """The fleet target group's ARN suffix."""
    function_name: T | None = None
    api_id: T | None = None
    cluster_name: T | None = None
    service_name: T | None = None
    service_target_group: T | None = None


@dataclass(frozen=True)
class Metric(Generic[T]):
    id: str
    namespace: str
    name: str
    statistic: str
    dimensions: dict[str, T]


@dataclass(frozen=True)
class AlarmSpec(Generic[T]):
    """One alarm: on one metric, or on ``expression`` over ``metrics`` (metric math)."""

    role: str
    description: str
    metrics: tuple[Metric[T], ...]
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    expression: str = ""
    extra_actions: tuple[str, ...] = field(default_factory=tuple)
    """Actions beside the topic, e.g. EC2's recover."""


def alarm_plan(settings: OperationsSettings, watched: Watched[T], namespace: str, partition: str,
               region: str) -> list[AlarmSpec[T]]:
    """Every alarm this module adds, for the layers ``watched`` names."""
    specs: list[AlarmSpec[T]] = []
    above, at_least = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold"
    disk = settings.disk_used_percent

    if watched.server_instance_id is not None:
        instance = {"InstanceId": watched.server_instance_id}
        recover = ((recover_action_arn(partition, region),)
                   if recover_supported(watched.server_instance_type) else ())
        specs += [
            AlarmSpec("server-system-check", "The server's host failed EC2's system status check"
                      + ("; EC2 recovers the instance onto new hardware" if recover else ""),
                      (Metric("m", "AWS/EC2", "StatusCheckFailed_System", "Maximum", instance),),
                      at_least, 1, 60, 2, extra_actions=recover),
            AlarmSpec("server-instance-check", "The server failed EC2's instance status check (its OS or boot)",
                      (Metric("m", "AWS/EC2", "StatusCheckFailed_Instance", "Maximum", instance),),
                      at_least, 1, 60, 3),
            AlarmSpec("server-disk", f"The server's root file system is more than {disk}% full",
                      (Metric("m", namespace, AGENT_DISK_METRIC, "Maximum", {group_dimension("server"):
                                                                              watched.server_instance_id}),),
                      above, disk, 300, 1),
        ]
    if watched.fleet_group is not None:
        specs.append(AlarmSpec(
            "fleet-disk", f"A fleet instance's root file system is more than {disk}% full",
            (Metric("m", namespace, AGENT_DISK_METRIC, "Maximum", {group_dimension("fleet"): watched.fleet_group}),),
            above, disk, 300, 1))
    if watched.function_name is not None:
        function = {"FunctionName": watched.function_name}
        specs += [
            AlarmSpec("function-errors", f"The function failed {settings.function_errors} or more times in 5 minutes",
                      (Metric("m", "AWS/Lambda", "Errors", "Sum", function),), at_least, settings.function_errors,
                      300, 1),
            AlarmSpec("function-throttles",
                      f"The function was throttled {settings.function_throttles} or more times in 5 minutes",
                      (Metric("m", "AWS/Lambda", "Throttles", "Sum", function),), at_least,
                      settings.function_throttles, 300, 1),
        ]
    if watched.api_id is not None:
        specs.append(AlarmSpec(
            "api-5xx", f"The HTTP API answered {settings.api_server_errors} or more 5xx responses in 5 minutes",
            (Metric("m", "AWS/ApiGateway", "5xx", "Sum", {"ApiId": watched.api_id}),), at_least,
            settings.api_server_errors, 300, 1))
    if watched.cluster_name is not None and watched.service_name is not None:
        service = {"ClusterName": watched.cluster_name, "ServiceName": watched.service_name}
        specs += [
            # Five minutes below desired, so that a rolling deployment's brief gap does not page anyone.
            AlarmSpec("service-running-tasks", "The service has run fewer tasks than desired for 5 minutes",
                      (Metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Average", service),
                       Metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Average", service)),
                      above, 0, 60, 5, expression="desired - running"),
            AlarmSpec("service-cpu", f"The service's average CPU is above {settings.service_cpu_percent}%",
                      (Metric("m", "AWS/ECS", "CPUUtilization", "Average", service),), above,
                      settings.service_cpu_percent, 300, 2),
            AlarmSpec("service-memory", f"The service's average memory use is above {settings.service_memory_percent}%",
                      (Metric("m", "AWS/ECS", "MemoryUtilization", "Average", service),), above,
                      settings.service_memory_percent, 300, 2),
        ]
    return specs


@dataclass(frozen=True)
class AlarmsArgs:
    settings: OperationsSettings
    context: DeployContext
    watched: Watched[pulumi.Input[str]]
    namespace: str
    """The CloudWatch agent's namespace (components/operations.py)."""
    topic_arn: str = ""


class Alarms(pulumi.ComponentResource):
    alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:alarms:Alarms", name, None, opts)
        ctx = args.context
        notify = [args.topic_arn] if args.topic_arn else []
        self.alarm_names = []
        for spec in alarm_plan(args.settings, args.watched, args.namespace, ctx.partition, ctx.region):
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.role}",
                alarm_description=spec.description,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                evaluation_periods=spec.evaluation_periods,
                treat_missing_data="notBreaching",
                actions_enabled=True,
                alarm_actions=[*notify, *spec.extra_actions],
                ok_actions=notify,
                tags=with_name(ctx.tags, f"{ctx.name_prefix}-alarm-{spec.role}"),
                opts=pulumi.ResourceOptions(parent=self),
                **_metric_args(spec),
            )
            self.alarm_names.append(alarm.name)
        self.register_outputs({"alarmNames": self.alarm_names})


def _metric_args(spec: AlarmSpec) -> dict:
    if not spec.expression:
        metric = spec.metrics[0]
        return {"namespace": metric.namespace, "metric_name": metric.name, "statistic": metric.statistic,
                "dimensions": dict(metric.dimensions), "period": spec.period}
    queries: Sequence[dict] = [
        {"id": m.id, "return_data": False, "metric": {"namespace": m.namespace, "metric_name": m.name,
                                                      "stat": m.statistic, "period": spec.period,
                                                      "dimensions": dict(m.dimensions)}}
        for m in spec.metrics]
    return {"metric_queries": [*queries, {"id": "e", "expression": spec.expression, "return_data": True,
                                          "label": spec.role}]}
