"""The ``fleet`` section: the EC2 Auto Scaling fleet behind the shared Application Load Balancer.

Single values are checked by their field; rules between fields (sizes ordered, thresholds ordered, Spot
settings consistent, health check timeout below its interval) are in ``fleet_problems``, and rules that
need the region or another section (``alarm_topic_in_stack_region``, ``listener_rule_priorities_unique``)
run from stack.py's ``STACK_RULES``; each names every key it involves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, field_validator

from .aws_catalog import instance_type_problem
from .base import PATH_PATTERNS_ALLOWED, PathPatterns, Problem, Section, full_key, setting
from .server import architecture_of

SNS_TOPIC_ARN = re.compile(r"^arn:aws[-a-z]*:sns:(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d):\d{12}:"
                           r"[A-Za-z0-9_-]{1,256}(\.fifo)?$")
MAX_GROUP_SIZE = 1000
SPOT_STRATEGIES = ("price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized",
                   "lowest-price")
DEFAULT_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def _sns_topic_arn(value: str) -> str:
    if value and not SNS_TOPIC_ARN.match(value):
        raise ValueError("not an SNS topic ARN")
    return value


OptionalTopicArn = Annotated[str, AfterValidator(_sns_topic_arn)]
"""Empty, or an SNS topic's ARN: the topic alarms notify (the region is checked against the stack's later)."""


def _key(field: str) -> str:
    return full_key("fleet", field)


class FleetSettings(Section):
    enabled: bool = setting(
        False, "Create the shared Application Load Balancer and the EC2 Auto Scaling fleet behind it.", "true | false"
    )
    # --- instances ---
    instance_type: str = setting(
        "t3.micro", "Instance type of the fleet when no mixed instance types are listed.",
        "an EC2 instance type such as t3.micro",
    )
    instance_types: tuple[str, ...] = setting(
        (), "Instance types of a mixed instances policy (On-Demand and Spot); empty uses instanceType alone.",
        "empty, or 2 to 20 EC2 instance types without repeats",
    )
    ami_id: str = setting(
        "", "AMI of the instances; empty takes the latest from the SSM parameter amiParameter.",
        "empty, or an AMI ID such as ami-0123456789abcdef0",
    )
    ami_parameter: str = setting(
        DEFAULT_AMI_PARAMETER, "Public SSM parameter that names the current AMI (Amazon Linux 2023).",
        "an SSM parameter path starting with /",
    )
    root_volume_size: int = setting(
        20, "Size in GiB of each instance's encrypted gp3 root volume.", "an integer from 8 to 16384", ge=8, le=16384,
    )
    service_port: int = setting(
        8080, "Port the web service listens on; the ALB reaches instances only there.",
        "an integer from 1024 to 65535", ge=1024, le=65535,
    )
    # --- group size ---
    min_size: int = setting(1, "Fewest instances in the group.",
                            f"an integer from 0 to {MAX_GROUP_SIZE}, <= desiredCapacity", ge=0, le=MAX_GROUP_SIZE)
    desired_capacity: int = setting(
        1, "Instances the group starts with; scaling moves it between minSize and maxSize.",
        f"an integer from 0 to {MAX_GROUP_SIZE}, from minSize to maxSize", ge=0, le=MAX_GROUP_SIZE,
    )
    max_size: int = setting(3, "Most instances in the group.",
                            f"an integer from 1 to {MAX_GROUP_SIZE}, >= desiredCapacity", ge=1, le=MAX_GROUP_SIZE)
    # --- scaling ---
    scaling: Literal["step", "target-tracking"] = setting(
        "step", "Step scaling on two CPU alarms (scaleOutCpu, scaleInCpu), or target tracking at targetCpu.",
        "step | target-tracking",
    )
    scale_out_cpu: int = setting(60, "Average CPU % at or above which step scaling adds instances.",
                                 "an integer from 1 to 100, above scaleInCpu", ge=1, le=100)
    scale_in_cpu: int = setting(30, "Average CPU % at or below which step scaling removes instances.",
                                "an integer from 0 to 99, below scaleOutCpu", ge=0, le=99)
    scale_out_by: int = setting(1, "Instances added per step-scaling action.", "an integer from 1 to 100",
                                ge=1, le=100)
    scale_in_by: int = setting(1, "Instances removed per step-scaling action.", "an integer from 1 to 100",
                               ge=1, le=100)
    target_cpu: int = setting(50, "Average CPU % that target tracking holds the group at.",
                              "an integer from 10 to 90", ge=10, le=90)
    evaluation_periods: int = setting(
        2, "Consecutive one-minute periods a CPU alarm must breach before the group scales.",
        "an integer from 1 to 10", ge=1, le=10,
    )
    instance_warmup: int = setting(
        120, "Seconds after launch before an instance's metrics count towards scaling.", "an integer from 0 to 3600",
        ge=0, le=3600,
    )
    # --- health ---
    health_check_path: str = setting("/health", "Path the target group's health check requests.",
                                     "a path starting with /, up to 1024 characters", max_length=1024)
    health_check_interval: int = setting(15, "Seconds between health checks of each instance.",
                                         "an integer from 5 to 300, above healthCheckTimeout", ge=5, le=300)
    health_check_timeout: int = setting(5, "Seconds without a response that fail a health check.",
                                        "an integer from 2 to 120, below healthCheckInterval", ge=2, le=120)
    healthy_threshold: int = setting(2, "Consecutive passed health checks that make an instance healthy.",
                                     "an integer from 2 to 10", ge=2, le=10)
    unhealthy_threshold: int = setting(3, "Consecutive failed health checks that make an instance unhealthy.",
                                       "an integer from 2 to 10", ge=2, le=10)
    deregistration_delay: int = setting(30, "Seconds the ALB drains an instance's connections before removing it.",
                                        "an integer from 0 to 3600", ge=0, le=3600)
    health_check_grace_period: int = setting(
        300, "Seconds after launch before failed ELB health checks make Auto Scaling replace an instance.",
        "an integer from 0 to 7200", ge=0, le=7200,
    )
    # --- Spot ---
    on_demand_base: int = setting(
        0, "On-Demand instances the mixed group keeps before any Spot.", "an integer from 0 to maxSize", ge=0,
        le=MAX_GROUP_SIZE,
    )
    on_demand_percent_above_base: int = setting(
        100, "Share of On-Demand instances above onDemandBase; the rest are Spot.", "an integer from 0 to 100",
        ge=0, le=100,
    )
    spot_allocation_strategy: Literal["price-capacity-optimized", "capacity-optimized",
                                      "capacity-optimized-prioritized", "lowest-price"] = setting(
        "price-capacity-optimized", "How Auto Scaling picks Spot pools.", " | ".join(SPOT_STRATEGIES),
    )
    # --- routing and alarms ---
    listener_rule_priority: int = setting(
        100, "Priority of the fleet's rule on the load balancer's listener; lower is evaluated first.",
        "an integer from 1 to 50000, not used by another layer", ge=1, le=50000,
    )
    path_patterns: PathPatterns = setting(
        ("/*",), "Request paths the load balancer forwards to the fleet.",
        PATH_PATTERNS_ALLOWED,
    )
    alarm_topic_arn: OptionalTopicArn = setting(
        "", "SNS topic that scaling-independent alarms (unhealthy hosts, 5xx) notify; empty for none.",
        "empty, or arn:aws:sns:<stack region>:<12-digit account>:<topic>",
    )

    @property
    def mixed_instances(self) -> bool:
        return bool(self.instance_types)

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value and not 2 <= len(value) <= 20:
            raise ValueError(f"a list of {len(value)} type{'s' if len(value) != 1 else ''}, not 2 to 20")
        problems = [p for p in map(instance_type_problem, value) if p]
        if problems:
            raise ValueError("; ".join(problems))
        repeated = sorted({t for t in value if value.count(t) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return value

    @field_validator("ami_id")
    @classmethod
    def _ami_id(cls, value: str) -> str:
        if value and not re.match(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$", value):
            raise ValueError("not an AMI ID")
        return value

    @field_validator("ami_parameter", "health_check_path")
    @classmethod
    def _starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("does not start with /")
        return value


def fleet_problems(fleet: FleetSettings) -> list[Problem]:
    """Rules between the fleet's own settings; each problem names both keys involved."""
    problems: list[Problem] = []
    if fleet.min_size > fleet.max_size:
        problems.append(Problem(_key("minSize"), fleet.min_size,
                                f"above {_key('maxSize')} ({fleet.max_size}); allowed: minSize <= maxSize"))
    else:
        if fleet.desired_capacity < fleet.min_size:
            problems.append(Problem(_key("desiredCapacity"), fleet.desired_capacity,
                                    f"below {_key('minSize')} ({fleet.min_size}); allowed: minSize to maxSize"))
        if fleet.desired_capacity > fleet.max_size:
            problems.append(Problem(_key("desiredCapacity"), fleet.desired_capacity,
                                    f"above {_key('maxSize')} ({fleet.max_size}); allowed: minSize to maxSize"))
    if fleet.scaling == "step" and fleet.scale_in_cpu >= fleet.scale_out_cpu:
        problems.append(Problem(_key("scaleInCpu"), fleet.scale_in_cpu,
                                f"not below {_key('scaleOutCpu')} ({fleet.scale_out_cpu}), so the group would "
                                f"scale in and out at once; allowed: scaleInCpu < scaleOutCpu"))
    if fleet.health_check_timeout >= fleet.health_check_interval:
        problems.append(Problem(_key("healthCheckTimeout"), fleet.health_check_timeout,
                                f"not below {_key('healthCheckInterval')} ({fleet.health_check_interval}); "
                                f"allowed: healthCheckTimeout < healthCheckInterval"))
    problems += _spot_problems(fleet)
    problems += _architecture_problems(fleet)
    return problems


def _architecture_problems(fleet: FleetSettings) -> Iterable[Problem]:
    """One launch template, one AMI: every type must run it, so all share the AMI's architecture."""
    key = _key("instanceTypes") if fleet.mixed_instances else _key("instanceType")
    types = fleet.instance_types or (fleet.instance_type,)
    by_architecture: dict[str, list[str]] = {}
    for instance_type in types:
        by_architecture.setdefault(architecture_of(instance_type), []).append(instance_type)
    if len(by_architecture) > 1:
        yield Problem(key, list(types), "mixes " + " and ".join(f"{arch} ({', '.join(names)})" for arch, names
                                                                 in sorted(by_architecture.items()))
                      + " types under one AMI; allowed: types of one architecture")
        return
    [architecture] = by_architecture
    ami_architecture = next((arch for arch in ("arm64", "x86_64") if fleet.ami_parameter.endswith(f"-{arch}")), None)
    if not fleet.ami_id and ami_architecture and ami_architecture != architecture:
        yield Problem(key, types[0] if len(types) == 1 else list(types),
                      f"{architecture} type{'s' if len(types) > 1 else ''}, but {_key('amiParameter')} names an "
                      f"{ami_architecture} AMI ({fleet.ami_parameter}); allowed: {ami_architecture} types, or the "
                      f"parameter ending in -{architecture}")


def _spot_problems(fleet: FleetSettings) -> Iterable[Problem]:
    """Spot settings need a mixed instances policy (which then replaces the single instanceType)."""
    if not fleet.mixed_instances:
        for alias, value, default in (("onDemandBase", fleet.on_demand_base, 0),
                                      ("onDemandPercentAboveBase", fleet.on_demand_percent_above_base, 100)):
            if value != default:
                yield Problem(_key(alias), value, f"needs a mixed instances policy, but {_key('instanceTypes')} "
                                                  f"is empty; allowed: {default}, or list instanceTypes")
        return
    if fleet.on_demand_base > fleet.max_size:
        yield Problem(_key("onDemandBase"), fleet.on_demand_base,
                      f"above {_key('maxSize')} ({fleet.max_size}); allowed: 0 to maxSize")


def alarm_topic_in_stack_region(config: Any) -> Iterable[Problem]:
    return topic_region_problems(_key("alarmTopicArn"), config.fleet.alarm_topic_arn, config.region)


def topic_region_problems(key: str, arn: str, region: str) -> Iterable[Problem]:
    """CloudWatch alarms notify only SNS topics of their own region."""
    match = SNS_TOPIC_ARN.match(arn) if arn else None
    if match and match["region"] != region:
        yield Problem(key, arn, f"the topic is in {match['region']}, the stack in {region}; "
                                f"allowed: an SNS topic of {region}")


def listener_rule_priorities_unique(config: Any) -> Iterable[Problem]:
    """Layers that attach to the shared listener must not claim the same rule priority."""
    claims = [("fleet", config.fleet.listener_rule_priority)] if config.fleet.enabled else []
    service = config.service
    service_priority = getattr(service, "listener_rule_priority", None)
    if service.enabled and service_priority is not None:
        claims.append(("service", service_priority))
    seen: dict[int, str] = {}
    for section, priority in claims:
        if priority in seen:
            yield Problem(full_key(section, "listenerRulePriority"), priority,
                          f"also the priority of {full_key(seen[priority], 'listenerRulePriority')}; "
                          f"allowed: a priority no other layer uses")
        seen[priority] = section
