"""The ``service`` section: the ECS Fargate service behind the load balancer, and its ECR repository.

Single values are checked by their field; rules between fields (Fargate's CPU and memory pairs, task counts
ordered, variables not set twice) are in ``service_problems``; the listener rule priority's uniqueness with
the fleet's is checked by ``fleet.listener_rule_priorities_unique``.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from .base import (
    LOG_RETENTION_ALLOWED,
    PATH_PATTERNS_ALLOWED,
    LogRetentionDays,
    PathPatterns,
    Problem,
    Section,
    full_key,
    setting,
)

# Fargate's task sizes: CPU units -> (lowest memory MiB, highest, step). AWS "Troubleshoot Amazon ECS task
# definition invalid CPU or memory errors"; 8 and 16 vCPU need Linux platform version 1.4.0 or later.
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
FARGATE_CPUS = tuple(FARGATE_MEMORY)

# registry/repository[:tag][@sha256:digest], as Docker parses an image reference (lower-case path components).
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"^(?:(?P<registry>[A-Za-z0-9.-]+(?::[0-9]+)?)/)?(?P<repository>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ENVIRONMENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# Secrets Manager secret (optionally :json-key:version-stage:version-id) or SSM parameter, as ECS's valueFrom.
SECRET_ARN = re.compile(
    r"^arn:aws[-a-z]*:(?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(?::[^:]*:[^:]*:[^:]*)?"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+)$"
)
# Set by the component from other settings; the config may not set them again.
RESERVED_VARIABLES = ("PORT", "SERVICE_NAME", "ENVIRONMENT")
MAX_TASKS = 1000


def fargate_memory_choices(cpu: int) -> list[int]:
    """The task memory values in MiB that Fargate accepts with ``cpu`` units; empty for an unknown CPU."""
    return list(FARGATE_MEMORY.get(cpu, ()))


def _key(field: str) -> str:
    return full_key("service", field)


def pairs(items: tuple[str, ...]) -> dict[str, str]:
    """``("NAME=value", ...)`` as a dict; the items are assumed valid."""
    return dict(item.split("=", 1) for item in items)


class ServiceSettings(Section):
    enabled: bool = setting(
        False, "Create the ECS Fargate service behind the load balancer, and its ECR repository.", "true | false"
    )
    # --- image ---
    image: str = setting(
        "", "Image the service runs; empty runs this stack's ECR repository at imageTag.",
        "empty, or an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2 or "
        "...@sha256:<64 hex digits>",
    )
    image_tag: str = setting(
        "", "Tag in this stack's ECR repository that the service runs: the tag build gives the image, or with build "
        "false one CI pushed before `pulumi up` (the service cannot start until it exists); tags are immutable.",
        "a Docker tag (letters, digits, _ . -, up to 128, not starting with . or -); required when image is empty "
        "and build is false",
    )
    build: bool = setting(
        True, "Build app/web's Dockerfile and push it to the stack's repository during `pulumi up` (needs Docker "
        "where it runs), so the first deploy has an image to run; the tag is imageTag, or the hash of app/web's "
        "files when imageTag is empty. Ignored when image is set.",
        "true | false (true is ignored when image is set)",
    )
    keep_images: int = setting(
        30, "Images the ECR lifecycle policy keeps; older ones are deleted (untagged ones after a day).",
        "an integer from 1 to 1000, more than the tags a rollback may need", ge=1, le=1000,
    )
    # --- task ---
    cpu: int = setting(
        256, "CPU units of each task (1024 = 1 vCPU).", " | ".join(map(str, FARGATE_CPUS)),
    )
    memory: int = setting(
        512, "Memory of each task in MiB; Fargate allows only certain values per CPU.",
        "a Fargate memory value for the chosen cpu (256: 512, 1024, 2048; 512: 1024-4096; 1024: 2048-8192; "
        "2048: 4096-16384; 4096: 8192-30720 in steps of 1024; 8192: 16384-61440 in steps of 4096; "
        "16384: 32768-122880 in steps of 8192)",
    )
    container_port: int = setting(
        8080, "Port the container listens on; the load balancer alone may reach it.",
        "an integer from 1024 to 65535 (the container runs as a non-root user)", ge=1024, le=65535,
    )
    environment: tuple[str, ...] = setting(
        (), "Extra environment variables of the container, each written NAME=value.",
        f"'NAME=value' strings, NAME a shell variable name, not given twice, not one of "
        f"{', '.join(RESERVED_VARIABLES)}",
    )
    secrets: tuple[str, ...] = setting(
        (), "Environment variables filled from Secrets Manager or SSM at task start, each written NAME=arn.",
        "'NAME=arn' strings; arn of a Secrets Manager secret or an SSM parameter; NAME not in environment",
    )
    log_retention_days: LogRetentionDays = setting(
        30, "Days the container's logs are kept.",
        LOG_RETENTION_ALLOWED,
    )
    # --- capacity and scaling ---
    desired_tasks: int = setting(
        1, "Tasks the service starts with; auto scaling moves it between minTasks and maxTasks afterwards.",
        f"an integer from 0 to {MAX_TASKS}, from minTasks to maxTasks", ge=0, le=MAX_TASKS,
    )
    min_tasks: int = setting(1, "Fewest tasks auto scaling keeps.", f"an integer from 0 to {MAX_TASKS}, <= maxTasks",
                             ge=0, le=MAX_TASKS)
    max_tasks: int = setting(2, "Most tasks auto scaling starts.", f"an integer from 1 to {MAX_TASKS}", ge=1,
                             le=MAX_TASKS)
    cpu_target: int = setting(70, "Average CPU % that target tracking keeps the service at.",
                              "an integer from 1 to 100", ge=1, le=100)
    memory_target: int = setting(80, "Average memory % that target tracking keeps the service at.",
                                 "an integer from 1 to 100", ge=1, le=100)
    fargate_base: int = setting(
        1, "Tasks that always run on regular FARGATE capacity, before Spot weights apply.",
        f"an integer from 0 to {MAX_TASKS}", ge=0, le=MAX_TASKS,
    )
    fargate_spot_weight: int = setting(
        0, "Tasks on FARGATE_SPOT for each task on FARGATE above fargateBase; 0 runs no Spot tasks.",
        "an integer from 0 to 1000", ge=0, le=1000,
    )
    # --- load balancer ---
    path_patterns: PathPatterns = setting(
        ("/api/*",), "Request paths the load balancer forwards to the service.",
        PATH_PATTERNS_ALLOWED,
    )
    listener_rule_priority: int = setting(
        10, "Priority of the service's rule on the load balancer's listener; lower is evaluated first.",
        "an integer from 1 to 50000, not used by another layer", ge=1, le=50000,
    )
    health_check_grace_period: int = setting(
        60, "Seconds after a task starts during which failed load balancer health checks do not stop it.",
        "an integer from 0 to 2147483647", ge=0, le=2147483647,
    )

    @field_validator("image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        if not value:
            return value
        match = IMAGE_REFERENCE.match(value)
        if len(value) > 255 or not match:
            raise ValueError("not an image reference registry/repository[:tag][@sha256:digest]")
        if not match["tag"] and not match["digest"]:
            raise ValueError("names no tag or digest, so what runs could change under the stack")
        return value

    @field_validator("image_tag")
    @classmethod
    def _image_tag(cls, value: str) -> str:
        if value and not IMAGE_TAG.match(value):
            raise ValueError("not a Docker tag")
        return value

    @field_validator("cpu")
    @classmethod
    def _fargate_cpu(cls, value: int) -> int:
        if value not in FARGATE_MEMORY:
            raise ValueError("not a Fargate task CPU size")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = _checked_names(value, "value")
        reserved = sorted(set(names) & set(RESERVED_VARIABLES))
        if reserved:
            raise ValueError(f"set by the stack itself: {', '.join(reserved)}")
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _checked_names(value, "arn")
        bad = [item for item in value if not SECRET_ARN.match(item.split("=", 1)[1])]
        if bad:
            raise ValueError(f"not a Secrets Manager secret or SSM parameter ARN: {', '.join(bad)}")
        return value

    @property
    def builds_image(self) -> bool:
        """Whether `pulumi up` builds app/web: build (true by default) applies only to the stack's own image."""
        return self.build and not self.image

    @property
    def environment_variables(self) -> dict[str, str]:
        return pairs(self.environment)

    @property
    def secret_arns(self) -> dict[str, str]:
        return pairs(self.secrets)


def _checked_names(items: tuple[str, ...], what: str) -> list[str]:
    """The NAMEs of ``NAME=...`` items; raises when one is malformed or given twice."""
    names = []
    for item in items:
        name, sep, _ = item.partition("=")
        if not sep:
            raise ValueError(f"'{item}' is not written NAME={what}")
        if not ENVIRONMENT_NAME.match(name):
            raise ValueError(f"'{name}' is not an environment variable name (letters, digits, _)")
        names.append(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"given more than once: {', '.join(repeated)}")
    return names


def service_problems(service: ServiceSettings) -> list[Problem]:
    """Rules between the service's own settings; each problem names every key involved."""
    if not service.enabled:
        return []
    problems: list[Problem] = []
    choices = fargate_memory_choices(service.cpu)
    if service.memory not in choices:
        problems.append(Problem(_key("memory"), service.memory,
                                f"Fargate has no task of {service.cpu} CPU units ({_key('cpu')}) with this memory; "
                                f"allowed with cpu {service.cpu}: {', '.join(map(str, choices))}"))
    if service.min_tasks > service.max_tasks:
        problems.append(Problem(_key("minTasks"), service.min_tasks,
                                f"above {_key('maxTasks')} ({service.max_tasks}); allowed: minTasks <= maxTasks"))
    elif not service.min_tasks <= service.desired_tasks <= service.max_tasks:
        problems.append(Problem(_key("desiredTasks"), service.desired_tasks,
                                f"outside {_key('minTasks')} to {_key('maxTasks')}; allowed: "
                                f"{service.min_tasks} to {service.max_tasks}"))
    if not service.image and not service.image_tag and not service.build:
        problems.append(Problem(_key("imageTag"), service.image_tag,
                                f"neither {_key('image')} nor imageTag says what to run; allowed: the tag CI pushed "
                                f"to the stack's repository, set image, or set {_key('build')} true"))
    if service.image and service.image_tag:
        problems.append(Problem(_key("imageTag"), service.image_tag,
                                f"given together with {_key('image')}, which already names the tag; allowed: "
                                f"one of the two"))
    both = sorted(set(service.environment_variables) & set(service.secret_arns))
    if both:
        problems.append(Problem(_key("secrets"), list(service.secrets),
                                f"{', '.join(both)} also set in {_key('environment')}; allowed: each name in one"))
    return problems
