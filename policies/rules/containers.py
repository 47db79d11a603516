"""Containers policies: ECS and ECR (catalog section F, rows E1-E16).

E17 (the repository policy) is a resource-policy question and lives with the IAM rules.
A task definition's ``containerDefinitions`` is a JSON string of a list (a list when a test or another
tool passes it parsed, an unknown during preview when it embeds other resources' outputs). Container
keys (privileged, readonlyRootFilesystem, user, logConfiguration, environment, secrets) are read from
each container; task keys (pidMode, ipcMode, networkMode) from the task definition itself, which is
where two of Checkov's ECS checks look in the wrong place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import (
    Resource,
    Stack,
    as_list,
    indexed,
    is_unknown,
    require_true,
    resource_rule,
    stack_rule,
    unverifiable,
)
from .serverless import refers_to, secret_findings

SERVICE = "aws:ecs/service:Service"
TASK_SET = "aws:ecs/taskSet:TaskSet"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ROOT_USERS = ("root", "0")
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True)
class Container:
    """One container definition and the property path that names it in messages."""

    path: str
    definition: Mapping[str, Any]

    def get(self, key: str) -> Any:
        return self.definition.get(key)


@dataclass(frozen=True)
class Containers:
    """A task's containers, or why they cannot be read (``problem``), never an exception."""

    items: tuple[Container, ...] = ()
    problem: str | None = None


def containers_of(task: Resource) -> Containers:
    raw = task.get("containerDefinitions")
    if is_unknown(raw):
        return Containers(problem=unverifiable("containerDefinitions"))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as error:
            return Containers(problem=f"containerDefinitions is not valid JSON ({error}); allowed: a JSON list "
                                      f"of container definitions")
    if raw is None:
        return Containers()
    if not isinstance(raw, list):
        return Containers(problem=f"containerDefinitions is a {type(raw).__name__}; allowed: a list of container "
                                  f"definitions")
    items = []
    for i, definition in enumerate(raw):
        if is_unknown(definition):
            return Containers(problem=unverifiable(f"containerDefinitions[{i}]"))
        if isinstance(definition, Mapping):
            name = definition.get("name")
            label = f" ({name})" if isinstance(name, str) and name else ""
            items.append(Container(f"containerDefinitions[{i}]{label}", definition))
    return Containers(tuple(items))


def _is_windows(task: Resource) -> bool:
    platform = task.get("runtimePlatform")
    family = platform.get("operatingSystemFamily") if isinstance(platform, Mapping) else None
    return isinstance(family, str) and family.upper().startswith("WINDOWS")


def _each_container(task: Resource) -> Iterator[Container | str]:
    """Each container, or the one message saying why none can be judged."""
    containers = containers_of(task)
    if containers.problem:
        yield containers.problem
    yield from containers.items


# --- Services ------------------------------------------------------------------------------------

@resource_rule(
    name="ecs-service-no-public-ip",
    description="Ensure ECS services and task sets do not give tasks public IP addresses.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_333", "fsbp:ECS.2", "fsbp:ECS.16", "catalog:E1"],
    remediation="Set network_configuration.assign_public_ip=False and subnets=network.private_subnet_ids; reach "
                "ECR and logs through the NAT gateway or VPC endpoints.",
    types=[SERVICE, TASK_SET],
)
def ecs_no_public_ip(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    network = resource.get("networkConfiguration")
    assign = network.get("assignPublicIp") if isinstance(network, Mapping) else None
    if is_unknown(assign) or is_unknown(network):
        yield unverifiable("networkConfiguration.assignPublicIp")
    elif assign is True:
        yield "networkConfiguration.assignPublicIp = true; allowed: false"


def _uses_fargate(service: Resource) -> bool:
    if service.get("launchType") == "FARGATE":
        return True
    providers = [s.get("capacityProvider") for s in as_list(service.get("capacityProviderStrategies"))
                 if isinstance(s, Mapping)]
    return any(p in FARGATE_PROVIDERS for p in providers)


@resource_rule(
    name="ecs-fargate-latest-platform",
    description="Ensure Fargate services run on the LATEST platform version, which carries the security patches.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_332", "fsbp:ECS.10", "catalog:E2"],
    remediation="Remove platform_version from the service (it defaults to LATEST) or set platform_version='LATEST'.",
    types=[SERVICE, TASK_SET],
    config={"allowedPlatformVersions": {"type": "array", "items": {"type": "string"}, "default": ["LATEST"],
                                        "description": "Fargate platform versions a service may pin."}},
)
def ecs_fargate_latest(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    version = resource.get("platformVersion")
    if not _uses_fargate(resource) or version is None:
        return
    if is_unknown(version):
        yield unverifiable("platformVersion")
    elif version not in config["allowedPlatformVersions"]:
        yield f"platformVersion = {version!r}; allowed: {', '.join(config['allowedPlatformVersions'])} or unset"


# --- Task definitions: container keys ---------------------------------------------------------------

@resource_rule(
    name="ecs-no-privileged-containers",
    description="Ensure no container in a task definition runs privileged.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_334", "fsbp:ECS.4", "catalog:E3"],
    remediation="Remove \"privileged\": true from the container definition; grant single capabilities with "
                "linuxParameters.capabilities.add where a container truly needs one.",
    types=[TASK_DEFINITION],
)
def ecs_no_privileged(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for container in _each_container(resource):
        if isinstance(container, str):
            yield container
        elif container.get("privileged") is True:
            yield f"{container.path}.privileged = true; allowed: false or unset"


@resource_rule(
    name="ecs-read-only-root-filesystem",
    description="Ensure every Linux container mounts its root filesystem read-only.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_336", "fsbp:ECS.5", "catalog:E4"],
    remediation="Set \"readonlyRootFilesystem\": true in each container definition; mount a volume (or a Fargate "
                "ephemeral path) for the directories the app writes, e.g. /tmp.",
    types=[TASK_DEFINITION],
)
def ecs_read_only_root(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if _is_windows(resource):
        return  # Windows containers cannot have a read-only root filesystem
    for container in _each_container(resource):
        if isinstance(container, str):
            yield container
        elif container.get("readonlyRootFilesystem") is not True:
            yield f"{container.path}.readonlyRootFilesystem = {container.get('readonlyRootFilesystem')!r}; " \
                  f"allowed: true"


def runs_as_root(user: Any) -> bool:
    """A container without ``user`` runs as the image's user, root unless the image says otherwise; only the
    uid part decides (``1000:0`` is a non-root user in the root group)."""
    if not isinstance(user, str) or not user.strip():
        return True
    return user.strip().split(":", 1)[0].strip().lower() in ROOT_USERS


@resource_rule(
    name="ecs-containers-run-as-non-root",
    description="Ensure every Linux container names a non-root user.",
    severity="high",
    enforcement="mandatory",
    controls=["fsbp:ECS.20", "catalog:E6"],
    remediation="Set \"user\": \"1000:1000\" (a uid the image has) in each container definition, and USER in the "
                "Dockerfile.",
    types=[TASK_DEFINITION],
)
def ecs_non_root(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if _is_windows(resource):
        return
    for container in _each_container(resource):
        if isinstance(container, str):
            yield container
        elif runs_as_root(container.get("user")):
            user = container.get("user")
            shown = f"user = {user!r}" if user is not None else "user is unset (the image's default, root)"
            yield f"{container.path}.{shown}; allowed: a non-root uid or name, e.g. '1000:1000'"


@resource_rule(
    name="ecs-no-secrets-in-container-environment",
    description="Ensure container environment variables carry no secrets (AWS keys, tokens, passwords); "
                "secrets come through the container's secrets list instead.",
    severity="critical",
    enforcement="mandatory",
    controls=["fsbp:ECS.8", "trivy:AVD-AWS-0036", "catalog:E7"],
    remediation="Move the value to aws.secretsmanager.Secret or SSM and reference it from the container's "
                "\"secrets\": [{\"name\": \"DB_PASSWORD\", \"valueFrom\": secret.arn}]; the execution role reads it.",
    types=[TASK_DEFINITION],
)
def ecs_no_secrets(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for container in _each_container(resource):
        if isinstance(container, str):
            yield container
            continue
        for i, variable in indexed(container.get("environment")):
            if isinstance(variable, Mapping):
                yield from secret_findings([(variable.get("name"), variable.get("value"))],
                                           lambda name, c=container, i=i: f"{c.path}.environment[{i}] ({name})")


@resource_rule(
    name="ecs-container-logging",
    description="Ensure every container sends its logs somewhere (a logConfiguration with a log driver).",
    severity="high",
    enforcement="mandatory",
    controls=["fsbp:ECS.9", "catalog:E8"],
    remediation="Set \"logConfiguration\": {\"logDriver\": \"awslogs\", \"options\": {\"awslogs-group\": "
                "log_group.name, \"awslogs-region\": region, \"awslogs-stream-prefix\": \"web\"}} in each container.",
    types=[TASK_DEFINITION],
)
def ecs_container_logging(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for container in _each_container(resource):
        if isinstance(container, str):
            yield container
            continue
        logging = container.get("logConfiguration")
        driver = logging.get("logDriver") if isinstance(logging, Mapping) else None
        if not (isinstance(driver, str) and driver.strip()):
            yield f"{container.path}.logConfiguration.logDriver is not set; allowed: a log driver such as awslogs"


# --- Task definitions: task keys ----------------------------------------------------------------------

@resource_rule(
    name="ecs-no-host-namespaces",
    description="Ensure task definitions do not share the host's process (pidMode) or IPC (ipcMode) namespace.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_335", "fsbp:ECS.3", "catalog:E5"],
    remediation="Remove pid_mode='host' and ipc_mode='host' from aws.ecs.TaskDefinition ('task' or unset are fine).",
    types=[TASK_DEFINITION],
)
def ecs_no_host_namespaces(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for key in ("pidMode", "ipcMode"):
        value = resource.get(key)
        if is_unknown(value):
            yield unverifiable(key)
        elif value == "host":
            yield f"{key} = 'host'; allowed: 'task' or unset"


@resource_rule(
    name="ecs-no-host-network-mode",
    description="Ensure task definitions do not use the host network mode.",
    severity="high",
    enforcement="mandatory",
    controls=["fsbp:ECS.17", "catalog:E6"],
    remediation="Set network_mode='awsvpc' on aws.ecs.TaskDefinition (required on Fargate anyway).",
    types=[TASK_DEFINITION],
)
def ecs_no_host_network(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    mode = resource.get("networkMode")
    if is_unknown(mode):
        yield unverifiable("networkMode")
    elif mode == "host":
        yield "networkMode = 'host'; allowed: awsvpc, bridge or none"


@stack_rule(
    name="ecs-execution-role-differs-from-task-role",
    description="Ensure a task definition's execution role (pulls images, reads secrets) is not also the role "
                "its application runs with.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_249", "catalog:E9"],
    remediation="Create two aws.iam.Role resources: execution_role_arn with AmazonECSTaskExecutionRolePolicy, "
                "task_role_arn with only what the app calls.",
)
def ecs_separate_roles(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for task in stack.of_type(TASK_DEFINITION):
        execution, task_role = task.get("executionRoleArn"), task.get("taskRoleArn")
        if not (isinstance(execution, str) and execution and isinstance(task_role, str) and task_role):
            continue
        if not is_unknown(execution) and not is_unknown(task_role):
            if execution == task_role:
                yield task, f"executionRoleArn and taskRoleArn are both {execution!r}; allowed: two roles"
            continue
        execution_deps = set(task.property_dependencies.get("executionRoleArn", ()))
        task_deps = set(task.property_dependencies.get("taskRoleArn", ()))
        if execution_deps and execution_deps == task_deps:
            yield task, "executionRoleArn and taskRoleArn come from the same role; allowed: two roles"
        elif not (execution_deps and task_deps):
            yield task, unverifiable("executionRoleArn and taskRoleArn")


@resource_rule(
    name="ecs-efs-transit-encryption",
    description="Ensure EFS volumes in task definitions encrypt data in transit.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_97", "trivy:AVD-AWS-0035", "catalog:E10"],
    remediation="Set efs_volume_configuration.transit_encryption='ENABLED' on each task definition volume.",
    types=[TASK_DEFINITION],
)
def ecs_efs_transit(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for i, volume in indexed(resource.get("volumes")):
        efs = volume.get("efsVolumeConfiguration") if isinstance(volume, Mapping) else None
        if not isinstance(efs, Mapping):
            continue
        setting = efs.get("transitEncryption")
        if is_unknown(setting):
            yield unverifiable(f"volumes[{i}].efsVolumeConfiguration.transitEncryption")
        elif setting != "ENABLED":
            yield f"volumes[{i}].efsVolumeConfiguration.transitEncryption = {setting!r}; allowed: ENABLED"


# --- Clusters ------------------------------------------------------------------------------------------

@resource_rule(
    name="ecs-cluster-container-insights",
    description="Ensure ECS clusters collect Container Insights metrics.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_65", "fsbp:ECS.12", "trivy:AVD-AWS-0034", "catalog:E11"],
    remediation="Set settings=[aws.ecs.ClusterSettingArgs(name='containerInsights', value='enabled')] "
                "('enhanced' also passes).",
    types=[CLUSTER],
)
def ecs_container_insights(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    settings = resource.get("settings")
    if is_unknown(settings):
        yield unverifiable("settings")
        return
    values = [s.get("value") for s in as_list(settings)
              if isinstance(s, Mapping) and s.get("name") == "containerInsights"]
    if any(is_unknown(v) for v in values):
        yield unverifiable("settings[containerInsights].value")
    elif not any(v in ("enabled", "enhanced") for v in values):
        shown = values[0] if values else "unset"
        yield f"settings containerInsights = {shown!r}; allowed: enabled or enhanced"


def exec_configuration(resource: Resource) -> Any:
    """The cluster's executeCommandConfiguration: a mapping ({} when not set), or the unknown value itself."""
    configuration = resource.get("configuration")
    if is_unknown(configuration):
        return configuration
    exec_config = configuration.get("executeCommandConfiguration") if isinstance(configuration, Mapping) else None
    return exec_config if isinstance(exec_config, Mapping) or is_unknown(exec_config) else {}


EXEC_PATH = "configuration.executeCommandConfiguration"


# Two policies, as Checkov has two checks: whether sessions are logged (CKV_AWS_223, the same pass condition) and
# whether session data and its logs are encrypted. CKV_AWS_224 is not the second one's tag: it also asks for an
# encryption flag under logConfiguration when logging is DEFAULT, where ECS ignores logConfiguration, and judges no
# cluster without an executeCommandConfiguration. An unknown configuration is noted once, by ecs-exec-logging.
@resource_rule(
    name="ecs-exec-logging",
    description="Ensure ECS Exec sessions on the cluster are logged (logging DEFAULT or OVERRIDE, not NONE).",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_223", "catalog:E12"],
    remediation="Leave execute_command_configuration.logging at 'DEFAULT' (the task's awslogs configuration) or set "
                "'OVERRIDE' with a log_configuration; never 'NONE'.",
    types=[CLUSTER],
)
def ecs_exec_logging(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    exec_config = exec_configuration(resource)
    if is_unknown(exec_config):
        yield unverifiable(EXEC_PATH)
    elif exec_config.get("logging", "DEFAULT") == "NONE":
        yield f"{EXEC_PATH}.logging = 'NONE'; allowed: DEFAULT or OVERRIDE"


@resource_rule(
    name="ecs-exec-encrypted",
    description="Ensure ECS Exec session data is encrypted with a KMS key and, where logging is overridden, sent "
                "only to encrypted destinations.",
    severity="medium",
    enforcement="mandatory",
    controls=["catalog:E12"],
    remediation="Set configuration=aws.ecs.ClusterConfigurationArgs(execute_command_configuration="
                "aws.ecs.ClusterConfigurationExecuteCommandConfigurationArgs(kms_key_id=stack_key.key_arn, "
                "logging='DEFAULT')); with logging='OVERRIDE' also set cloud_watch_encryption_enabled=True "
                "(s3_bucket_encryption_enabled=True for a bucket).",
    types=[CLUSTER],
    config={"requireKmsKey": {"type": "boolean", "default": True,
                              "description": "Require a KMS key for the ECS Exec session data."}},
)
def ecs_exec_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    exec_config = exec_configuration(resource)
    if is_unknown(exec_config):
        return
    if exec_config.get("logging") == "OVERRIDE":
        target = exec_config.get("logConfiguration")
        target = target if isinstance(target, Mapping) else {}
        for destination, flag in (("cloudWatchLogGroupName", "cloudWatchEncryptionEnabled"),
                                  ("s3BucketName", "s3BucketEncryptionEnabled")):
            if target.get(destination) is not None and not (target.get(flag) is True or is_unknown(target.get(flag))):
                yield f"{EXEC_PATH}.logConfiguration.{flag} = {target.get(flag)!r} while {destination} is set; " \
                      f"allowed: true"
    if config["requireKmsKey"] and not (isinstance(exec_config.get("kmsKeyId"), str) and exec_config["kmsKeyId"]):
        yield f"{EXEC_PATH}.kmsKeyId is not set; allowed: a customer-managed KMS key"


# --- ECR repositories ---------------------------------------------------------------------------------

@resource_rule(
    name="ecr-scan-on-push",
    description="Ensure ECR repositories scan images for vulnerabilities when they are pushed.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_163", "fsbp:ECR.1", "trivy:AVD-AWS-0030",
              "pulumi-crp:aws-ecr-repository-enable-image-scan", "catalog:E13"],
    remediation="Set image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs("
                "scan_on_push=True).",
    types=[REPOSITORY],
)
def ecr_scan_on_push(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    scanning = resource.get("imageScanningConfiguration")
    scan = scanning.get("scanOnPush") if isinstance(scanning, Mapping) else None
    if is_unknown(scanning):
        return [unverifiable("imageScanningConfiguration.scanOnPush")]
    return require_true(scan, "imageScanningConfiguration.scanOnPush")


@resource_rule(
    name="ecr-immutable-tags",
    description="Ensure ECR image tags are immutable, so a tag always names the image that was scanned and "
                "deployed.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_51", "fsbp:ECR.2", "trivy:AVD-AWS-0031",
              "pulumi-crp:aws-ecr-repository-disallow-mutable-image", "catalog:E14"],
    remediation="Set image_tag_mutability='IMMUTABLE' and tag images by commit (deploy by tag or digest, never "
                "'latest').",
    types=[REPOSITORY],
    config={"allowedMutability": {"type": "array", "items": {"type": "string"}, "default": ["IMMUTABLE"],
                                  "description": "Accepted imageTagMutability values (add IMMUTABLE_WITH_EXCLUSION "
                                                 "to allow listed mutable tags)."}},
)
def ecr_immutable_tags(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    mutability = resource.get("imageTagMutability")
    if is_unknown(mutability):
        yield unverifiable("imageTagMutability")
    elif mutability not in config["allowedMutability"]:
        shown = mutability if mutability is not None else "unset (MUTABLE)"
        yield f"imageTagMutability = {shown!r}; allowed: {', '.join(config['allowedMutability'])}"


@stack_rule(
    name="ecr-lifecycle-policy",
    description="Ensure every ECR repository has a lifecycle policy that expires old images.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:ECR.3", "catalog:E15"],
    remediation="Add aws.ecr.LifecyclePolicy(repository=repo.name, policy=json.dumps({'rules': [{'rulePriority': 1, "
                "'selection': {'tagStatus': 'any', 'countType': 'imageCountMoreThan', 'countNumber': 30}, "
                "'action': {'type': 'expire'}}]})).",
)
def ecr_lifecycle_policy(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    policies = stack.of_type(LIFECYCLE_POLICY)
    for repository in stack.of_type(REPOSITORY):
        if not any(refers_to(p, "repository", repository) for p in policies):
            yield repository, "no aws:ecr/lifecyclePolicy:LifecyclePolicy names this repository; allowed: one " \
                              "lifecycle policy per repository"


@resource_rule(
    name="ecr-encrypted-with-kms",
    description="Ensure ECR repositories encrypt images with KMS, by default with a customer-managed key.",
    severity="medium",
    enforcement="mandatory",
    controls=["trivy:AVD-AWS-0033",
              "pulumi-crp:aws-ecr-repository-configure-customer-managed-key", "catalog:E16"],
    remediation="Set encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type='KMS', "
                "kms_key=stack_key.key_arn)] (encryption cannot be changed later: the repository is replaced).",
    types=[REPOSITORY],
    config={"requireCustomerManagedKey": {"type": "boolean", "default": True,
                                          "description": "Also require kmsKey (not the AWS-managed aws/ecr key)."}},
)
def ecr_encrypted_with_kms(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    configurations = resource.get("encryptionConfigurations")
    if is_unknown(configurations):
        yield unverifiable("encryptionConfigurations")
        return
    first = next((c for c in as_list(configurations) if isinstance(c, Mapping)), {})
    kind = first.get("encryptionType")
    if is_unknown(kind):
        yield unverifiable("encryptionConfigurations[0].encryptionType")
    elif kind != "KMS":
        shown = kind if kind is not None else "unset (AES256)"
        yield f"encryptionConfigurations[0].encryptionType = {shown!r}; allowed: KMS"
    elif config["requireCustomerManagedKey"] and not (isinstance(first.get("kmsKey"), str) and first["kmsKey"]):
        yield "encryptionConfigurations[0].kmsKey is not set (the AWS-managed aws/ecr key); allowed: a " \
              "customer-managed key ARN"
