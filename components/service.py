"""The container layer: an ECR repository and an ECS Fargate service behind the shared load balancer.

By default `pulumi up` builds app/web and pushes it to the repository (``service.build``), so the first deploy
has an image to run; otherwise CI pushes an immutable tag and sets ``service.imageTag`` (or ``service.image``).
Either becomes a new task definition revision, and ECS rolls it out under a circuit breaker that rolls back on
failure; `pulumi up` waits for the service to reach a steady state, so an image that does not start fails it.
The running task count is owned by Application Auto Scaling: the service ignores changes to ``desiredCount``
after creation, so that a redeploy does not reset it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from .config import ServiceSettings
from .context import DeployContext
from .iam import Document, document, service_trust_policy, to_json
from .tags import with_name

CONTAINER_NAME = "web"
# The image's numeric non-root user (app/web/Dockerfile); repeated here so that ECS enforces it whatever the image.
CONTAINER_USER = "10001"
TASKS_SERVICE = "ecs-tasks.amazonaws.com"
# The same check as the Dockerfile's HEALTHCHECK: ECS ignores that one and runs only the task definition's.
HEALTH_CHECK_SCRIPT = ("import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % "
                       "os.environ.get('PORT', '8080'), timeout=3)")
# Longer than the service's own SHUTDOWN_GRACE_SECONDS (15 s), so that ECS's SIGKILL does not cut its drain short.
STOP_TIMEOUT_SECONDS = 30
# The load balancer waits this long for requests in flight to a deregistered task before it stops routing to it.
DEREGISTRATION_DELAY_SECONDS = 30
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300
UNTAGGED_IMAGE_DAYS = 1
_PREFIX_PATTERN = re.compile(r"^(?P<prefix>(/[A-Za-z0-9._~-]+)+)/\*$")
_ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                        r"(?P<repository>[^:@]+)")


# --- Pure functions: what the resources hold ---------------------------------------------------------------------


# Relative to the project, where Pulumi runs the program: an absolute path would differ on every machine and
# show as a change in every preview.
WEB_CONTEXT_PATH = "app/web"
WEB_CONTEXT = Path(__file__).resolve().parent.parent / WEB_CONTEXT_PATH
CONTEXT_IGNORED = ("__pycache__", ".pyc")


def context_tag(directory: Path = WEB_CONTEXT) -> str:
    """A tag named after the build context's content: an unchanged app/web builds to the same tag, so the
    repository's immutable tags never clash, and a changed one to a new tag, which rolls the service out."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if any(part in relative for part in CONTEXT_IGNORED):
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return "build-" + digest.hexdigest()[:16]


def container_definitions(*, image: str, port: int, environment: Mapping[str, str], secrets: Mapping[str, str],
                          log_group: str, region: str) -> list[dict]:
    """The task's one container: non-root, read-only root filesystem, no privileges, logs to CloudWatch.

    The web service writes nothing to disk, so it needs no writable volume. Secrets reach it by ``valueFrom``:
    ECS resolves them at start, and their values appear neither in the task definition nor in its environment.
    """
    return [{
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "user": CONTAINER_USER,
        "readonlyRootFilesystem": True,
        "privileged": False,
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
        "portMappings": [{"containerPort": port, "protocol": "tcp"}],
        "environment": [{"name": name, "value": value} for name, value in sorted(environment.items())],
        "secrets": [{"name": name, "valueFrom": arn} for name, arn in sorted(secrets.items())],
        "healthCheck": {"command": ["CMD", "python", "-c", HEALTH_CHECK_SCRIPT], "interval": 15, "timeout": 5,
                        "retries": 3, "startPeriod": 10},
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER_NAME}},
    }]


def container_environment(settings: ServiceSettings, service_name: str, environment: str) -> dict[str, str]:
    """What the web service reads (app/web/server.py), then the config's own variables."""
    prefix = path_prefix(settings.path_patterns)
    return {"PORT": str(settings.container_port), "SERVICE_NAME": service_name, "ENVIRONMENT": environment,
            **({"PATH_PREFIX": prefix} if prefix else {}), **settings.environment_variables}


def path_prefix(path_patterns: Sequence[str]) -> str:
    """The prefix the load balancer's rule puts before the service's own paths: /api for ["/api/*"].

    The load balancer forwards the path unchanged, so the service must know it to answer /api/health as /health.
    Only a single pattern of the form /prefix/* has one; anything else leaves the paths as they come.
    """
    if len(path_patterns) == 1:
        match = _PREFIX_PATTERN.match(path_patterns[0])
        if match:
            return match["prefix"]
    return ""


def repository_arn_of_image(image: str, partition: str) -> str | None:
    """The ECR repository an image reference points into, or None for an image outside ECR."""
    match = _ECR_IMAGE.match(image)
    if not match:
        return None
    return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"


def secret_resource_arn(value_from: str) -> str:
    """The ARN that IAM knows a ``valueFrom`` by: a Secrets Manager reference without its JSON key and version."""
    parts = value_from.split(":")
    return ":".join(parts[:7]) if parts[2] == "secretsmanager" else value_from


def execution_role_policy(*, repository_arns: Sequence[str], log_group_arn: str,
                          secret_arns: Sequence[str]) -> Document:
    """What ECS needs to start the task: pull its image, write its logs, read its secrets. Nothing else."""
    statements: list[Document] = [{
        # GetAuthorizationToken has no resource to scope to: it returns a registry login, not an image.
        "Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*",
    }]
    if repository_arns:
        statements.append({
            "Sid": "PullTheServiceImage", "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": sorted(set(repository_arns)),
        })
    statements.append({
        "Sid": "WriteTheServiceLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:log-stream:*",
    })
    resources = sorted({secret_resource_arn(arn) for arn in secret_arns})
    secrets_manager = [arn for arn in resources if arn.split(":")[2] == "secretsmanager"]
    parameters = [arn for arn in resources if arn.split(":")[2] == "ssm"]
    if secrets_manager:
        statements.append({"Sid": "ReadTheServiceSecrets", "Effect": "Allow",
                           "Action": "secretsmanager:GetSecretValue", "Resource": secrets_manager})
    if parameters:
        statements.append({"Sid": "ReadTheServiceParameters", "Effect": "Allow", "Action": "ssm:GetParameters",
                           "Resource": parameters})
    return document(*statements)


def lifecycle_policy(keep_images: int) -> Document:
    """ECR lifecycle rules: drop untagged layers soon, and keep the ``keep_images`` newest images."""
    return {"rules": [
        {"rulePriority": 1, "description": f"Expire untagged images after {UNTAGGED_IMAGE_DAYS} day",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": UNTAGGED_IMAGE_DAYS},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"Keep the {keep_images} newest images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
         "action": {"type": "expire"}},
    ]}


def capacity_provider_strategy(fargate_base: int, spot_weight: int) -> list[dict]:
    """``fargate_base`` tasks on regular Fargate, the rest split 1 : ``spot_weight`` between it and Spot."""
    strategy = [{"capacity_provider": "FARGATE", "base": fargate_base, "weight": 1}]
    if spot_weight:
        strategy.append({"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": spot_weight})
    return strategy


def scaling_resource_id(cluster_name: str, service_name: str) -> str:
    return f"service/{cluster_name}/{service_name}"


# --- The component -----------------------------------------------------------------------------------------------


class LoadBalancerRoutes(Protocol):
    """What the service needs of the shared load balancer (components/load_balancer.py)."""

    security_group_id: pulumi.Output[str]
    vpc_id: pulumi.Output[str]

    def add_route(self, name: str, target_group: aws.lb.TargetGroup, *, priority: int,
                  path_patterns: Sequence[str] = (), host_headers: Sequence[str] = ()) -> aws.lb.ListenerRule: ...


@dataclass(frozen=True)
class ServiceArgs:
    settings: ServiceSettings
    context: DeployContext
    load_balancer: LoadBalancerRoutes
    private_subnet_ids: Sequence[pulumi.Input[str]]
    key_arn: pulumi.Input[str]
    """The stack's KMS key, for the repository and the log group."""


class Service(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:service:Service", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        settings, ctx = args.settings, args.context

        # --- Image -------------------------------------------------------------------------------
        repository = aws.ecr.Repository(
            f"{name}-repo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.key_arn}],
            force_delete=ctx.environment != "prod",
            tags=self._tags("repo"),
            opts=self._child,
        )
        aws.ecr.LifecyclePolicy(f"{name}-repo-lifecycle", repository=repository.name,
                                policy=to_json(lifecycle_policy(settings.keep_images)), opts=self._child)
        image = self._image(repository)

        # --- Logs and roles ----------------------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=ctx.log_group_name("service"),
            retention_in_days=settings.log_retention_days,
            kms_key_id=args.key_arn,
            tags=self._tags("logs"),
            opts=self._child,
        )
        execution_role = self._role("execution", "Lets ECS pull the service's image, write its logs and read its "
                                                 "secrets")
        own_repository = [repository.arn] if not settings.image else []
        execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=execution_role.id,
            policy=pulumi.Output.all(log_group.arn, *own_repository).apply(
                lambda arns: to_json(execution_role_policy(
                    log_group_arn=arns[0], repository_arns=[*arns[1:], *self._external_repository_arns()],
                    secret_arns=list(settings.secret_arns.values())))),
            opts=self._child,
        )
        # The application's own permissions belong here; the web service needs none.
        task_role = self._role("task", "The web service's own permissions (none)")

        # --- Cluster and task definition ---------------------------------------------------------
        # ECS Exec stays off (enable_execute_command=False below); should it be turned on, its sessions are
        # encrypted with the stack's key and logged the default way (the task's awslogs configuration).
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enabled"}],
            configuration={"execute_command_configuration": {"kms_key_id": args.key_arn, "logging": "DEFAULT"}},
            tags=self._tags("cluster"),
            opts=self._child,
        )
        strategy = capacity_provider_strategy(settings.fargate_base, settings.fargate_spot_weight)
        capacity = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity", cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=strategy, opts=self._child,
        )
        environment = container_environment(settings, f"{ctx.name_prefix}-{name}", ctx.environment)
        task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=f"{ctx.name_prefix}-{name}",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(settings.cpu),
            memory=str(settings.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.all(image, log_group.name).apply(lambda values: to_json(
                container_definitions(image=values[0], port=settings.container_port, environment=environment,
                                      secrets=settings.secret_arns, log_group=values[1], region=ctx.region))),
            tags=self._tags("task"),
            opts=self._child,
        )

        # --- Networking and load balancer --------------------------------------------------------
        lb = args.load_balancer
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=lb.vpc_id, description="ECS service tasks: the container port from the ALB only",
            tags=self._tags("service"), opts=self._child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-alb", security_group_id=security_group.id, referenced_security_group_id=lb.security_group_id,
            ip_protocol="tcp", from_port=settings.container_port, to_port=settings.container_port,
            description="the load balancer to the container port", tags=self._tags("from-alb"), opts=self._child,
        )
        # Tasks reach ECR, CloudWatch Logs and Secrets Manager over HTTPS, through NAT or interface endpoints.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out", security_group_id=security_group.id, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp",
            from_port=443, to_port=443, description="HTTPS to AWS APIs and the image registry",
            tags=self._tags("https-out"), opts=self._child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            target_type="ip",
            port=settings.container_port,
            protocol="HTTP",
            vpc_id=lb.vpc_id,
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check={"enabled": True, "path": "/health", "port": "traffic-port", "protocol": "HTTP",
                          "matcher": "200", "interval": 15, "timeout": 5, "healthy_threshold": 2,
                          "unhealthy_threshold": 3},
            tags=self._tags("tg"),
            opts=self._child,
        )
        route = lb.add_route(name, target_group, priority=settings.listener_rule_priority,
                             path_patterns=settings.path_patterns)

        # --- Service -----------------------------------------------------------------------------
        service = aws.ecs.Service(
            f"{name}-service",
            cluster=cluster.arn,
            task_definition=task_definition.arn,
            desired_count=settings.desired_tasks,
            capacity_provider_strategies=strategy,
            platform_version="LATEST",
            network_configuration={"subnets": list(args.private_subnet_ids), "security_groups": [security_group.id],
                                   "assign_public_ip": False},
            load_balancers=[{"target_group_arn": target_group.arn, "container_name": CONTAINER_NAME,
                             "container_port": settings.container_port}],
            health_check_grace_period_seconds=settings.health_check_grace_period,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            enable_execute_command=False,
            # `pulumi up` waits until the service's tasks run and pass the health check (the provider's default
            # is to return as soon as ECS accepts the service): a bad image or a task that cannot start fails
            # the deploy instead of passing silently.
            wait_for_steady_state=True,
            tags=self._tags("service"),
            # ECS refuses a target group that no listener uses yet, and its first tasks fail without the execution
            # role's policy. Auto scaling owns the task count once the service exists: without ignore_changes
            # every `pulumi up` would reset it to desiredTasks.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[route, capacity, execution_policy],
                                        ignore_changes=["desiredCount"]),
        )

        # --- Auto scaling ------------------------------------------------------------------------
        resource_id = pulumi.Output.all(cluster.name, service.name).apply(lambda n: scaling_resource_id(*n))
        target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=settings.min_tasks,
            max_capacity=settings.max_tasks,
            tags=self._tags("scaling"),
            opts=self._child,
        )
        for metric, target_value in (("ECSServiceAverageCPUUtilization", settings.cpu_target),
                                     ("ECSServiceAverageMemoryUtilization", settings.memory_target)):
            aws.appautoscaling.Policy(
                f"{name}-{'cpu' if 'CPU' in metric else 'memory'}-tracking",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": {"predefined_metric_type": metric},
                    "target_value": target_value,
                    "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
                    "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
                },
                opts=self._child,
            )

        self.repository_url = repository.repository_url
        self.cluster_name = cluster.name
        self.service_name = service.name
        self.security_group_id = security_group.id
        self.target_group_arn = target_group.arn
        self.task_definition_arn = task_definition.arn
        self.execution_role_arn = execution_role.arn
        self.task_role_arn = task_role.arn
        self.register_outputs({
            "repositoryUrl": self.repository_url,
            "clusterName": self.cluster_name,
            "serviceName": self.service_name,
            "targetGroupArn": self.target_group_arn,
            "taskDefinitionArn": self.task_definition_arn,
        })

    def _role(self, purpose: str, description: str) -> aws.iam.Role:
        ctx = self._args.context
        return aws.iam.Role(
            f"{self._name}-{purpose}-role",
            path=ctx.iam_path,
            description=description,
            assume_role_policy=to_json(service_trust_policy(TASKS_SERVICE, ctx.account_id)),
            tags=self._tags(f"{purpose}-role"),
            opts=self._child,
        )

    def _image(self, repository: aws.ecr.Repository) -> pulumi.Output[str]:
        """The configured image; or the image built here and pushed; or this stack's repository at the tag."""
        settings = self._args.settings
        if settings.image:
            return pulumi.Output.from_input(settings.image)
        if settings.builds_image:
            return self._built_image(repository).ref
        return repository.repository_url.apply(lambda url: f"{url}:{settings.image_tag}")

    def _built_image(self, repository: aws.ecr.Repository) -> docker_build.Image:
        """app/web built for the task's platform and pushed to the repository; the task runs it by digest
        (``ref``), so a rebuilt tag could never change what runs."""
        tag = self._args.settings.image_tag or context_tag()
        credentials = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
        return docker_build.Image(
            f"{self._name}-image",
            context=docker_build.BuildContextArgs(location=WEB_CONTEXT_PATH),
            dockerfile=docker_build.DockerfileArgs(location=f"{WEB_CONTEXT_PATH}/Dockerfile"),
            platforms=[docker_build.Platform.LINUX_AMD64],  # the task definition's runtime platform: X86_64
            push=True,
            tags=[repository.repository_url.apply(lambda url: f"{url}:{tag}")],
            registries=[docker_build.RegistryArgs(address=repository.repository_url,
                                                  username=credentials.user_name,
                                                  password=pulumi.Output.secret(credentials.password))],
            opts=self._child,
        )

    def _external_repository_arns(self) -> list[str]:
        image = self._args.settings.image
        arn = repository_arn_of_image(image, self._args.context.partition) if image else None
        return [arn] if arn else []

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-{self._name}-{role}")
