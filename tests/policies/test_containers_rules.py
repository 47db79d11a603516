"""ECS and ECR policies: each one refuses what it exists to refuse and accepts the fix."""

from __future__ import annotations

import json
from typing import Any

from policies.rules import Resource, Stack, rule_named
from policies.rules.containers import (
    CLUSTER,
    LIFECYCLE_POLICY,
    REPOSITORY,
    SERVICE,
    TASK_DEFINITION,
    TASK_SET,
    containers_of,
    runs_as_root,
)

from .pack_client import as_recorded

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/web-execution"
TASK_ROLE = "arn:aws:iam::123456789012:role/web-task"


def check(policy: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(Resource(type_, props), config)


def check_stack(policy: str, *resources: Resource, config: dict[str, Any] | None = None) -> list[str]:
    return [message for _, message in rule_named(policy).evaluate_stack(Stack(resources), config)]


def good_container(**overrides: Any) -> dict[str, Any]:
    """A container that every container policy accepts."""
    return {
        "name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0.0", "essential": True,
        "user": "1000:1000", "readonlyRootFilesystem": True, "privileged": False,
        "environment": [{"name": "PORT", "value": "8080"}],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
        **overrides,
    }


def task(*containers: dict[str, Any], **props: Any) -> dict[str, Any]:
    """Task definition inputs as the engine sends them: containerDefinitions is a JSON string."""
    return {"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": json.dumps(list(containers or [good_container()])),
            "executionRoleArn": EXECUTION_ROLE, "taskRoleArn": TASK_ROLE, **props}


# --- parsing containerDefinitions --------------------------------------------------------------------

def test_container_definitions_are_read_from_a_json_string_or_a_list():
    assert [c.path for c in containers_of(Resource(TASK_DEFINITION, task())).items] == ["containerDefinitions[0] (web)"]
    parsed = containers_of(Resource(TASK_DEFINITION, {"containerDefinitions": [good_container(name="api")]}))
    assert [c.get("name") for c in parsed.items] == ["api"]


def test_invalid_json_gives_a_clear_message_and_no_exception():
    messages = check("ecs-no-privileged-containers", TASK_DEFINITION, {"containerDefinitions": "[{\"name\": "})
    assert len(messages) == 1 and messages[0].startswith("containerDefinitions is not valid JSON")


def test_absurdly_nested_json_is_reported_not_raised():
    messages = check("ecs-container-logging", TASK_DEFINITION, {"containerDefinitions": "[" * 100_000})
    assert len(messages) == 1 and messages[0].startswith("containerDefinitions is not valid JSON")


def test_definitions_that_are_not_a_list_are_reported():
    assert check("ecs-container-logging", TASK_DEFINITION, {"containerDefinitions": "{\"name\": \"web\"}"}) == [
        "containerDefinitions is a dict; allowed: a list of container definitions"]


def test_unknown_definitions_cannot_be_verified_by_container_rules_but_task_rules_still_judge():
    props = {"containerDefinitions": UNKNOWN, "pidMode": "host"}
    assert "cannot be verified" in check("ecs-read-only-root-filesystem", TASK_DEFINITION, props)[0]
    assert check("ecs-no-host-namespaces", TASK_DEFINITION, props) == ["pidMode = 'host'; allowed: 'task' or unset"]


# --- E1 / E2 services ------------------------------------------------------------------------------------

def test_a_service_that_assigns_public_ips_is_refused():
    props = {"networkConfiguration": {"subnets": ["subnet-a"], "assignPublicIp": True}}
    assert check("ecs-service-no-public-ip", SERVICE, props) == [
        "networkConfiguration.assignPublicIp = true; allowed: false"]
    assert check("ecs-service-no-public-ip", TASK_SET, props)


def test_a_service_in_private_subnets_passes():
    assert check("ecs-service-no-public-ip", SERVICE, {"networkConfiguration": {"subnets": ["subnet-a"],
                                                                                "assignPublicIp": False}}) == []


def test_a_fargate_service_pinned_to_an_old_platform_is_refused():
    assert check("ecs-fargate-latest-platform", SERVICE, {"launchType": "FARGATE", "platformVersion": "1.3.0"}) == [
        "platformVersion = '1.3.0'; allowed: LATEST or unset"]
    spot = {"capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            "platformVersion": "1.4.0"}
    assert check("ecs-fargate-latest-platform", SERVICE, spot)


def test_a_fargate_service_on_latest_or_default_passes_and_ec2_services_are_not_judged():
    assert check("ecs-fargate-latest-platform", SERVICE, {"launchType": "FARGATE"}) == []
    assert check("ecs-fargate-latest-platform", SERVICE, {"launchType": "FARGATE", "platformVersion": "LATEST"}) == []
    assert check("ecs-fargate-latest-platform", SERVICE, {"launchType": "EC2", "platformVersion": "1.3.0"}) == []


# --- E3 / E4 / E6 / E7 / E8 container keys --------------------------------------------------------------------

def test_a_privileged_container_is_refused():
    assert check("ecs-no-privileged-containers", TASK_DEFINITION,
                 task(good_container(), good_container(name="sidecar", privileged=True))) == [
        "containerDefinitions[1] (sidecar).privileged = true; allowed: false or unset"]


def test_privileged_set_on_the_task_instead_of_the_container_is_not_what_counts():
    assert check("ecs-no-privileged-containers", TASK_DEFINITION, task(privileged=True)) == []


def test_unprivileged_containers_pass():
    assert check("ecs-no-privileged-containers", TASK_DEFINITION, task()) == []


def test_a_writable_root_filesystem_is_refused():
    assert check("ecs-read-only-root-filesystem", TASK_DEFINITION,
                 task(good_container(readonlyRootFilesystem=None))) == [
        "containerDefinitions[0] (web).readonlyRootFilesystem = None; allowed: true"]


def test_a_read_only_root_filesystem_passes_and_windows_tasks_are_not_judged():
    assert check("ecs-read-only-root-filesystem", TASK_DEFINITION, task()) == []
    windows = task(good_container(readonlyRootFilesystem=False),
                   runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"})
    assert check("ecs-read-only-root-filesystem", TASK_DEFINITION, windows) == []


def test_containers_without_a_user_or_with_root_are_refused():
    definitions = task(good_container(user=None), good_container(name="b", user="root"),
                       good_container(name="c", user="0:0"))
    assert check("ecs-containers-run-as-non-root", TASK_DEFINITION, definitions) == [
        "containerDefinitions[0] (web).user is unset (the image's default, root); allowed: a non-root uid or name, "
        "e.g. '1000:1000'",
        "containerDefinitions[1] (b).user = 'root'; allowed: a non-root uid or name, e.g. '1000:1000'",
        "containerDefinitions[2] (c).user = '0:0'; allowed: a non-root uid or name, e.g. '1000:1000'"]


def test_a_non_root_user_passes():
    assert check("ecs-containers-run-as-non-root", TASK_DEFINITION, task()) == []


def test_only_the_uid_part_of_user_decides_root():
    assert runs_as_root("0:1000") and runs_as_root("root:app") and runs_as_root("")
    assert not runs_as_root("1000:0") and not runs_as_root("app")


def test_aws_credentials_in_container_environment_are_refused():
    container = good_container(environment=[{"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"},
                                            {"name": "API_TOKEN", "value": "s3cr3t-value-123"}])
    messages = check("ecs-no-secrets-in-container-environment", TASK_DEFINITION, task(container))
    assert messages == [
        "containerDefinitions[0] (web).environment[0] (AWS_ACCESS_KEY_ID) holds an AWS access key id; allowed: no "
        "credentials in plain environment variables",
        "containerDefinitions[0] (web).environment[1] (API_TOKEN) holds a literal value under a secret-like name; "
        "allowed: empty, or a reference (a Secrets Manager/SSM ARN, a parameter path or {{resolve:...}}) read at run "
        "time"]
    assert not any("s3cr3t" in m for m in messages)


def test_secrets_through_the_secrets_list_and_plain_settings_pass():
    assert check("ecs-no-secrets-in-container-environment", TASK_DEFINITION, task()) == []


def test_a_container_without_log_configuration_is_refused():
    assert check("ecs-container-logging", TASK_DEFINITION, task(good_container(logConfiguration=None))) == [
        "containerDefinitions[0] (web).logConfiguration.logDriver is not set; allowed: a log driver such as awslogs"]


def test_a_container_with_awslogs_passes():
    assert check("ecs-container-logging", TASK_DEFINITION, task()) == []


# --- E5 / E6 task keys -------------------------------------------------------------------------------------

def test_host_pid_and_ipc_namespaces_are_refused():
    assert check("ecs-no-host-namespaces", TASK_DEFINITION, task(pidMode="host", ipcMode="host")) == [
        "pidMode = 'host'; allowed: 'task' or unset", "ipcMode = 'host'; allowed: 'task' or unset"]


def test_pid_mode_inside_a_container_is_not_where_ecs_reads_it():
    assert check("ecs-no-host-namespaces", TASK_DEFINITION, task(good_container(pidMode="host"))) == []


def test_task_namespaces_pass():
    assert check("ecs-no-host-namespaces", TASK_DEFINITION, task(pidMode="task")) == []


def test_host_network_mode_is_refused_and_awsvpc_passes():
    assert check("ecs-no-host-network-mode", TASK_DEFINITION, task(networkMode="host")) == [
        "networkMode = 'host'; allowed: awsvpc, bridge or none"]
    assert check("ecs-no-host-network-mode", TASK_DEFINITION, task()) == []


# --- E9 / E10 ------------------------------------------------------------------------------------------------

def test_one_role_for_execution_and_task_is_refused():
    same = Resource(TASK_DEFINITION, task(taskRoleArn=EXECUTION_ROLE))
    assert check_stack("ecs-execution-role-differs-from-task-role", same) == [
        f"executionRoleArn and taskRoleArn are both {EXECUTION_ROLE!r}; allowed: two roles"]


def test_the_same_role_is_found_through_dependencies_while_arns_are_unknown():
    same = Resource(TASK_DEFINITION, task(executionRoleArn=UNKNOWN, taskRoleArn=UNKNOWN),
                    property_dependencies={"executionRoleArn": ("urn:role:one",), "taskRoleArn": ("urn:role:one",)})
    assert check_stack("ecs-execution-role-differs-from-task-role", same) == [
        "executionRoleArn and taskRoleArn come from the same role; allowed: two roles"]


def test_separate_roles_or_no_task_role_pass():
    assert check_stack("ecs-execution-role-differs-from-task-role", Resource(TASK_DEFINITION, task())) == []
    assert check_stack("ecs-execution-role-differs-from-task-role",
                       Resource(TASK_DEFINITION, task(taskRoleArn=None))) == []
    separate = Resource(TASK_DEFINITION, task(executionRoleArn=UNKNOWN, taskRoleArn=UNKNOWN),
                        property_dependencies={"executionRoleArn": ("urn:role:a",), "taskRoleArn": ("urn:role:b",)})
    assert check_stack("ecs-execution-role-differs-from-task-role", separate) == []


def test_efs_volumes_without_transit_encryption_are_refused():
    volumes = [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]
    assert check("ecs-efs-transit-encryption", TASK_DEFINITION, task(volumes=volumes)) == [
        "volumes[0].efsVolumeConfiguration.transitEncryption = None; allowed: ENABLED"]


def test_encrypted_efs_volumes_and_other_volumes_pass():
    volumes = [{"name": "tmp"}, {"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
                                                                            "transitEncryption": "ENABLED"}}]
    assert check("ecs-efs-transit-encryption", TASK_DEFINITION, task(volumes=volumes)) == []


# --- E11 / E12 clusters -----------------------------------------------------------------------------------------

def test_a_cluster_without_container_insights_is_refused():
    assert check("ecs-cluster-container-insights", CLUSTER, {}) == [
        "settings containerInsights = 'unset'; allowed: enabled or enhanced"]
    assert check("ecs-cluster-container-insights", CLUSTER,
                 {"settings": [{"name": "containerInsights", "value": "disabled"}]})


def test_a_cluster_with_container_insights_passes():
    assert check("ecs-cluster-container-insights", CLUSTER,
                 {"settings": [{"name": "containerInsights", "value": "enhanced"}]}) == []


def exec_config(**settings: Any) -> dict[str, Any]:
    return {"configuration": {"executeCommandConfiguration": settings}}


def test_ecs_exec_with_logging_off_is_refused():
    assert check("ecs-exec-logging", CLUSTER, exec_config(kmsKeyId=KEY_ARN, logging="NONE")) == [
        "configuration.executeCommandConfiguration.logging = 'NONE'; allowed: DEFAULT or OVERRIDE"]


def test_ecs_exec_logging_defaults_to_the_tasks_log_configuration():
    assert check("ecs-exec-logging", CLUSTER, {}) == []
    assert check("ecs-exec-logging", CLUSTER, exec_config(logging="DEFAULT")) == []


def test_ecs_exec_without_a_key_is_refused_by_the_encryption_policy_alone():
    assert check("ecs-exec-encrypted", CLUSTER, exec_config(logging="DEFAULT")) == [
        "configuration.executeCommandConfiguration.kmsKeyId is not set; allowed: a customer-managed KMS key"]
    assert check("ecs-exec-logging", CLUSTER, exec_config(logging="DEFAULT")) == []


def test_ecs_exec_with_logging_off_and_no_key_is_two_defects_one_finding_each():
    settings = exec_config(logging="NONE")
    assert check("ecs-exec-logging", CLUSTER, settings) == [
        "configuration.executeCommandConfiguration.logging = 'NONE'; allowed: DEFAULT or OVERRIDE"]
    assert check("ecs-exec-encrypted", CLUSTER, settings) == [
        "configuration.executeCommandConfiguration.kmsKeyId is not set; allowed: a customer-managed KMS key"]


def test_ecs_exec_overriding_to_unencrypted_logs_is_refused():
    settings = exec_config(kmsKeyId=KEY_ARN, logging="OVERRIDE",
                           logConfiguration={"cloudWatchLogGroupName": "/ecs/exec"})
    assert check("ecs-exec-encrypted", CLUSTER, settings) == [
        "configuration.executeCommandConfiguration.logConfiguration.cloudWatchEncryptionEnabled = None while "
        "cloudWatchLogGroupName is set; allowed: true"]
    assert check("ecs-exec-logging", CLUSTER, settings) == []


def test_ecs_exec_with_default_logging_and_a_key_passes():
    assert check("ecs-exec-encrypted", CLUSTER, exec_config(kmsKeyId=KEY_ARN, logging="DEFAULT")) == []
    encrypted = exec_config(kmsKeyId=KEY_ARN, logging="OVERRIDE", logConfiguration={
        "cloudWatchLogGroupName": "/ecs/exec", "cloudWatchEncryptionEnabled": True})
    assert check("ecs-exec-encrypted", CLUSTER, encrypted) == []


def test_an_unknown_exec_configuration_is_noted_once():
    unknown = {"configuration": UNKNOWN}
    assert len(check("ecs-exec-logging", CLUSTER, unknown)) == 1
    assert check("ecs-exec-encrypted", CLUSTER, unknown) == []


def test_the_exec_key_requirement_can_be_switched_off():
    assert check("ecs-exec-encrypted", CLUSTER, {}, {"requireKmsKey": False}) == []


# --- E13-E16 repositories ----------------------------------------------------------------------------------------

def good_repository(**overrides: Any) -> dict[str, Any]:
    return {"name": "web", "imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE",
            "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}], **overrides}


def test_a_repository_that_does_not_scan_on_push_is_refused():
    assert check("ecr-scan-on-push", REPOSITORY, good_repository(imageScanningConfiguration=None)) == [
        "imageScanningConfiguration.scanOnPush = not set; allowed: true"]


def test_a_repository_that_scans_on_push_passes():
    assert check("ecr-scan-on-push", REPOSITORY, good_repository()) == []


def test_mutable_tags_are_refused_including_the_default():
    assert check("ecr-immutable-tags", REPOSITORY, good_repository(imageTagMutability=None)) == [
        "imageTagMutability = 'unset (MUTABLE)'; allowed: IMMUTABLE"]
    assert check("ecr-immutable-tags", REPOSITORY, good_repository(imageTagMutability="MUTABLE"))


def test_immutable_tags_pass_and_exclusions_pass_only_when_configured():
    assert check("ecr-immutable-tags", REPOSITORY, good_repository()) == []
    with_exclusion = good_repository(imageTagMutability="IMMUTABLE_WITH_EXCLUSION")
    assert check("ecr-immutable-tags", REPOSITORY, with_exclusion)
    assert check("ecr-immutable-tags", REPOSITORY, with_exclusion,
                 {"allowedMutability": ["IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"]}) == []


def repository() -> Resource:
    return Resource(REPOSITORY, {**good_repository(), "id": "web", "arn": "arn:aws:ecr:us-east-1:123456789012:"
                                 "repository/web"}, urn="urn:repository:web")


def test_a_repository_without_a_lifecycle_policy_is_refused():
    other = Resource(LIFECYCLE_POLICY, {"repository": "another"})
    assert check_stack("ecr-lifecycle-policy", repository(), other) == [
        "no aws:ecr/lifecyclePolicy:LifecyclePolicy names this repository; allowed: one lifecycle policy per "
        "repository"]


def test_a_repository_with_a_lifecycle_policy_passes_by_name_or_dependency():
    assert check_stack("ecr-lifecycle-policy", repository(),
                       Resource(LIFECYCLE_POLICY, {"repository": "web", "policy": "{}"})) == []
    assert check_stack("ecr-lifecycle-policy", repository(),
                       Resource(LIFECYCLE_POLICY, {"repository": UNKNOWN},
                                property_dependencies={"repository": ("urn:repository:web",)})) == []


def test_a_repository_with_default_aes_encryption_is_refused():
    assert check("ecr-encrypted-with-kms", REPOSITORY, good_repository(encryptionConfigurations=None)) == [
        "encryptionConfigurations[0].encryptionType = 'unset (AES256)'; allowed: KMS"]


def test_kms_without_a_customer_key_is_refused_unless_configured():
    aws_managed = good_repository(encryptionConfigurations=[{"encryptionType": "KMS"}])
    assert check("ecr-encrypted-with-kms", REPOSITORY, aws_managed)
    assert check("ecr-encrypted-with-kms", REPOSITORY, aws_managed, {"requireCustomerManagedKey": False}) == []


def test_a_repository_encrypted_with_a_customer_key_passes():
    assert check("ecr-encrypted-with-kms", REPOSITORY, good_repository()) == []
    assert check("ecr-encrypted-with-kms", REPOSITORY, good_repository(
        encryptionConfigurations=[{"encryptionType": "KMS", "kmsKey": UNKNOWN}])) == []


# --- odd inputs ------------------------------------------------------------------------------------------------

def test_no_containers_policy_raises_on_odd_inputs():
    odd_values = [None, UNKNOWN, "", "not json", "[1, null, \"x\"]", "[{\"environment\": 5}]", 7, True, [], {},
                  [UNKNOWN], [{"name": 3, "environment": [{"name": None}], "user": 0}]]
    keys = ("containerDefinitions", "networkConfiguration", "platformVersion", "launchType",
            "capacityProviderStrategies", "pidMode", "ipcMode", "networkMode", "volumes", "settings", "configuration",
            "imageScanningConfiguration", "imageTagMutability", "encryptionConfigurations", "runtimePlatform",
            "executionRoleArn", "taskRoleArn", "repository")
    resource_rules = [r for r in ("ecs-service-no-public-ip", "ecs-fargate-latest-platform",
                                  "ecs-no-privileged-containers", "ecs-read-only-root-filesystem",
                                  "ecs-containers-run-as-non-root", "ecs-no-secrets-in-container-environment",
                                  "ecs-container-logging", "ecs-no-host-namespaces", "ecs-no-host-network-mode",
                                  "ecs-efs-transit-encryption", "ecs-cluster-container-insights", "ecs-exec-logging",
                                  "ecs-exec-encrypted",
                                  "ecr-scan-on-push", "ecr-immutable-tags", "ecr-encrypted-with-kms")]
    for value in odd_values:
        props = dict.fromkeys(keys, value)
        for type_ in (SERVICE, TASK_SET, TASK_DEFINITION, CLUSTER, REPOSITORY):
            for name in resource_rules:
                check(name, type_, props)
        resources = [Resource(t, props) for t in (TASK_DEFINITION, REPOSITORY, LIFECYCLE_POLICY)]
        for name in ("ecs-execution-role-differs-from-task-role", "ecr-lifecycle-policy"):
            check_stack(name, *resources)


# --- through the real pack ---------------------------------------------------------------------------------------

def test_the_pack_reports_containers_findings_over_grpc(pack):
    risky = task(good_container(privileged=True, user=None, readonlyRootFilesystem=False, logConfiguration=None,
                                environment=[{"name": "DB_PASSWORD", "value": "hunter2-correct-horse"}]),
                 pidMode="host")
    findings = pack.analyze([
        as_recorded(TASK_DEFINITION, risky, name="risky"),
        as_recorded(TASK_DEFINITION, task(), name="safe"),
        as_recorded(SERVICE, {"launchType": "FARGATE", "networkConfiguration": {"subnets": ["subnet-a"],
                                                                                 "assignPublicIp": True}},
                    name="public"),
    ])
    ours = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings if f.policy.startswith(("ecs-", "ecr-"))}
    assert ours == {
        ("ecs-no-privileged-containers", "risky"), ("ecs-containers-run-as-non-root", "risky"),
        ("ecs-read-only-root-filesystem", "risky"), ("ecs-container-logging", "risky"),
        ("ecs-no-secrets-in-container-environment", "risky"), ("ecs-no-host-namespaces", "risky"),
        ("ecs-service-no-public-ip", "public"),
    }
