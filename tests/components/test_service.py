"""The container layer: its pure parts, then the Service component run through the program for dev and prod."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.web.process import ServerProcess
from components.service import (
    HEALTH_CHECK_SCRIPT,
    capacity_provider_strategy,
    container_definitions,
    context_tag,
    execution_role_policy,
    lifecycle_policy,
    path_prefix,
    repository_arn_of_image,
    secret_resource_arn,
)

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/web/api-key"
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws-compute/dev/service"
REPOSITORY_ARN = "arn:aws:ecr:us-east-1:123456789012:repository/web"
WITH_SECRETS = {"aws-compute:service.secrets": json.dumps([f"DB_PASSWORD={SECRET}:password::",
                                                           f"API_KEY={PARAMETER}"]),
                "aws-compute:service.environment": json.dumps(["LOG_LEVEL=debug"])}

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
ROLE = "aws:iam/role:Role"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"


def the_container(recording) -> dict:
    (task,) = recording.of_type(TASK_DEFINITION)
    (container,) = json.loads(task.inputs["containerDefinitions"])
    return container


def named(recording, type_token: str, name: str):
    (found,) = [r for r in recording.of_type(type_token) if r.name == name]
    return found


def policy_of(recording, role) -> dict:
    (attached,) = [p for p in recording.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]
    return json.loads(attached.inputs["policy"])


# --- Pure parts ------------------------------------------------------------------------------------------------


def test_the_container_runs_as_a_non_root_user_on_a_read_only_root_without_privileges():
    (container,) = container_definitions(image="web:1", port=8080, environment={}, secrets={}, log_group="/g",
                                         region="us-east-1")
    assert container["user"] == "10001"
    assert container["readonlyRootFilesystem"] is True
    assert container["privileged"] is False
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]


def test_secrets_go_by_reference_and_never_into_the_environment():
    (container,) = container_definitions(image="web:1", port=8080, environment={"A": "1"},
                                         secrets={"TOKEN": SECRET}, log_group="/g", region="us-east-1")
    assert container["secrets"] == [{"name": "TOKEN", "valueFrom": SECRET}]
    assert container["environment"] == [{"name": "A", "value": "1"}]


def test_the_execution_role_reads_only_the_listed_secrets_and_parameters():
    statements = execution_role_policy(repository_arns=[REPOSITORY_ARN], log_group_arn=LOG_GROUP_ARN,
                                       secret_arns=[f"{SECRET}:password::", PARAMETER])["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ReadTheServiceSecrets"]["Resource"] == [SECRET]
    assert by_sid["ReadTheServiceParameters"]["Resource"] == [PARAMETER]
    assert by_sid["PullTheServiceImage"]["Resource"] == [REPOSITORY_ARN]
    assert by_sid["WriteTheServiceLogs"]["Resource"] == f"{LOG_GROUP_ARN}:log-stream:*"


def test_only_the_registry_login_is_granted_on_every_resource():
    statements = execution_role_policy(repository_arns=[REPOSITORY_ARN], log_group_arn=LOG_GROUP_ARN,
                                       secret_arns=[])["Statement"]
    assert [s["Action"] for s in statements if s["Resource"] == "*"] == ["ecr:GetAuthorizationToken"]
    assert not any("secretsmanager" in json.dumps(s) or "ssm:" in json.dumps(s) for s in statements)


def test_a_secrets_manager_reference_is_granted_by_its_secrets_arn():
    assert secret_resource_arn(f"{SECRET}:password:AWSCURRENT:") == SECRET
    assert secret_resource_arn(PARAMETER) == PARAMETER


@pytest.mark.parametrize(("image", "arn"), [
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.2",
     "arn:aws:ecr:eu-west-1:123456789012:repository/team/web"),
    (f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:{'a' * 64}", REPOSITORY_ARN),
    ("public.ecr.aws/docker/library/python:3.13-slim", None),
])
def test_an_images_ecr_repository_is_found_from_its_reference(image, arn):
    assert repository_arn_of_image(image, "aws") == arn


def test_the_lifecycle_policy_keeps_the_configured_number_of_images():
    rules = lifecycle_policy(25)["rules"]
    assert [r["rulePriority"] for r in rules] == [1, 2]
    assert rules[-1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 25}
    assert rules[0]["selection"]["tagStatus"] == "untagged"


def test_spot_capacity_is_added_only_with_a_weight():
    assert capacity_provider_strategy(1, 0) == [{"capacity_provider": "FARGATE", "base": 1, "weight": 1}]
    assert capacity_provider_strategy(2, 3)[1] == {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 3}


@pytest.mark.parametrize(("patterns", "prefix"), [(["/api/*"], "/api"), (["/v1/orders/*"], "/v1/orders"),
                                                 (["/*"], ""), (["/api/*", "/v2/*"], ""), (["/api*"], "")])
def test_the_service_is_told_the_prefix_of_a_single_path_rule(patterns, prefix):
    assert path_prefix(patterns) == prefix


def test_the_container_health_check_passes_against_the_running_web_service():
    with ServerProcess() as server:
        finished = subprocess.run([sys.executable, "-c", HEALTH_CHECK_SCRIPT], env={"PORT": str(server.port)},
                                  capture_output=True, timeout=30)
    assert finished.returncode == 0, finished.stderr


# --- The stack: ECR ---------------------------------------------------------------------------------------------


def test_the_repository_scans_on_push_keeps_tags_immutable_and_uses_the_stack_key(dev_stack):
    (repository,) = dev_stack.of_type("aws:ecr/repository:Repository")
    (key,) = dev_stack.of_type("aws:kms/key:Key")
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key.outputs["arn"]}]
    assert not dev_stack.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")


def test_the_lifecycle_policy_keeps_the_stacks_configured_count(prod_stack):
    (policy,) = prod_stack.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert json.loads(policy.inputs["policy"])["rules"][-1]["selection"]["countNumber"] == 50


# --- The stack: task definition ---------------------------------------------------------------------------------


def test_the_task_is_a_fargate_awsvpc_task_of_the_configured_size(dev_stack, prod_stack):
    for recording, size in ((dev_stack, ("256", "512")), (prod_stack, ("512", "1024"))):
        (task,) = recording.of_type(TASK_DEFINITION)
        assert (task.inputs["cpu"], task.inputs["memory"]) == size
        assert task.inputs["networkMode"] == "awsvpc"
        assert task.inputs["requiresCompatibilities"] == ["FARGATE"]


def test_without_build_the_task_runs_the_configured_tag_of_the_stacks_repository(stack_with):
    recording = stack_with("dev", {"aws-compute:service.build": "false", "aws-compute:service.imageTag": "0.1.0"})
    (repository,) = recording.of_type("aws:ecr/repository:Repository")
    assert the_container(recording)["image"] == f"{repository.outputs['repositoryUrl']}:0.1.0"
    assert not recording.of_type("docker-build:index:Image")


@pytest.mark.parametrize("stack", ["dev_stack", "prod_stack"])
def test_the_first_deploy_builds_app_web_so_the_service_has_an_image_to_run(stack, request):
    recording = request.getfixturevalue(stack)
    (image,) = recording.of_type("docker-build:index:Image")
    assert image.inputs["push"] is True
    assert the_container(recording)["image"] == image.outputs["ref"]


@pytest.mark.parametrize("stack", ["dev_stack", "prod_stack"])
def test_pulumi_up_waits_for_the_service_to_reach_a_steady_state(stack, request):
    (service,) = request.getfixturevalue(stack).of_type("aws:ecs/service:Service")
    assert service.inputs["waitForSteadyState"] is True


def test_a_configured_image_is_run_as_given(stack_with):
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:{'b' * 64}"
    recording = stack_with("dev", {"aws-compute:service.image": image, "aws-compute:service.imageTag": ""})
    assert the_container(recording)["image"] == image


def test_the_task_definition_keeps_the_container_locked_down(prod_stack):
    container = the_container(prod_stack)
    assert (container["user"], container["readonlyRootFilesystem"], container["privileged"]) == ("10001", True,
                                                                                                 False)
    assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert container["healthCheck"]["command"][:2] == ["CMD", "python"]


def test_the_container_logs_to_the_services_encrypted_log_group(dev_stack):
    options = the_container(dev_stack)["logConfiguration"]
    log_group = named(dev_stack, "aws:cloudwatch/logGroup:LogGroup", "web-logs")
    (key,) = dev_stack.of_type("aws:kms/key:Key")
    assert options["logDriver"] == "awslogs"
    assert options["options"]["awslogs-group"] == log_group.inputs["name"] == "/aws-compute/dev/service"
    assert options["options"]["awslogs-region"] == "us-east-1"
    assert log_group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert log_group.inputs["retentionInDays"] == 14


def test_the_service_learns_its_port_name_and_environment_from_variables(dev_stack):
    environment = {e["name"]: e["value"] for e in the_container(dev_stack)["environment"]}
    assert environment == {"PORT": "8080", "SERVICE_NAME": "aws-compute-dev-web", "ENVIRONMENT": "dev",
                           "PATH_PREFIX": "/api"}


def test_secrets_reach_the_container_by_reference_and_not_through_its_environment(stack_with):
    container = the_container(stack_with("dev", WITH_SECRETS))
    assert {s["name"]: s["valueFrom"] for s in container["secrets"]} == {"DB_PASSWORD": f"{SECRET}:password::",
                                                                          "API_KEY": PARAMETER}
    environment = json.dumps(container["environment"])
    assert "LOG_LEVEL" in environment and "DB_PASSWORD" not in environment and SECRET not in environment


# --- The stack: roles -------------------------------------------------------------------------------------------


def test_the_execution_and_task_roles_are_distinct_and_assumed_only_by_ecs_tasks(dev_stack):
    (task,) = dev_stack.of_type(TASK_DEFINITION)
    execution, task_role = named(dev_stack, ROLE, "web-execution-role"), named(dev_stack, ROLE, "web-task-role")
    assert task.inputs["executionRoleArn"] == execution.outputs["arn"]
    assert task.inputs["taskRoleArn"] == task_role.outputs["arn"]
    assert execution.outputs["arn"] != task_role.outputs["arn"]
    for role in (execution, task_role):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_the_task_role_holds_no_permissions(dev_stack):
    task_role = named(dev_stack, ROLE, "web-task-role")
    attached = [p for p in dev_stack.resources if p.inputs.get("role") == task_role.id]
    assert attached == []
    assert not task_role.inputs.get("managedPolicyArns")


def test_the_execution_role_pulls_only_from_this_repository_and_logs_only_to_this_group(dev_stack):
    (repository,) = dev_stack.of_type("aws:ecr/repository:Repository")
    log_group = named(dev_stack, "aws:cloudwatch/logGroup:LogGroup", "web-logs")
    statements = {s["Sid"]: s for s in policy_of(dev_stack, named(dev_stack, ROLE, "web-execution-role"))["Statement"]}
    assert statements["PullTheServiceImage"]["Resource"] == [repository.outputs["arn"]]
    assert statements["WriteTheServiceLogs"]["Resource"] == f"{log_group.outputs['arn']}:log-stream:*"
    assert set(statements) == {"LogInToEcr", "PullTheServiceImage", "WriteTheServiceLogs"}


def test_the_execution_role_may_read_the_configured_secrets(stack_with):
    recording = stack_with("dev", WITH_SECRETS)
    statements = {s["Sid"]: s for s in policy_of(recording, named(recording, ROLE, "web-execution-role"))["Statement"]}
    assert statements["ReadTheServiceSecrets"]["Resource"] == [SECRET]
    assert statements["ReadTheServiceParameters"]["Resource"] == [PARAMETER]


# --- The stack: networking and load balancer --------------------------------------------------------------------


def test_the_service_runs_in_private_subnets_without_public_ips(prod_stack):
    (service,) = prod_stack.of_type(SERVICE)
    private = {s.id for s in prod_stack.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"}
    network = service.inputs["networkConfiguration"]
    assert set(network["subnets"]) == private and len(private) == 3
    assert network["assignPublicIp"] is False


def test_the_tasks_admit_the_container_port_only_from_the_load_balancer(dev_stack):
    group = named(dev_stack, "aws:ec2/securityGroup:SecurityGroup", "web-sg")
    alb_group = named(dev_stack, "aws:ec2/securityGroup:SecurityGroup", "lb-sg")
    (service,) = dev_stack.of_type(SERVICE)
    ingress = [r for r in dev_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == group.id]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in ingress] == [
        (alb_group.id, 8080, 8080)]
    assert not any("cidrIpv4" in r.inputs for r in ingress)
    assert not group.inputs.get("ingress")
    assert service.inputs["networkConfiguration"]["securityGroups"] == [group.id]


def test_the_load_balancer_may_reach_the_container_port(dev_stack):
    alb_group = named(dev_stack, "aws:ec2/securityGroup:SecurityGroup", "lb-sg")
    assert 8080 in {rule["fromPort"] for rule in alb_group.inputs["egress"]}


def test_the_target_group_registers_task_ips_and_checks_health(dev_stack):
    target_group = named(dev_stack, TARGET_GROUP, "web-tg")
    (service,) = dev_stack.of_type(SERVICE)
    assert target_group.inputs["targetType"] == "ip"
    assert target_group.inputs["port"] == 8080
    assert target_group.inputs["healthCheck"]["path"] == "/health"
    assert service.inputs["loadBalancers"] == [{"targetGroupArn": target_group.outputs["arn"], "containerName": "web",
                                                "containerPort": 8080}]


def test_the_listener_rule_forwards_the_configured_paths_at_the_configured_priority(dev_stack):
    target_group = named(dev_stack, TARGET_GROUP, "web-tg")
    (rule,) = [r for r in dev_stack.of_type("aws:lb/listenerRule:ListenerRule")
               if r.inputs["actions"][0].get("targetGroupArn") == target_group.outputs["arn"]]
    assert rule.inputs["priority"] == 10
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/api/*"]}}]


def test_the_service_is_created_after_its_listener_rule_and_its_execution_policy(dev_stack):
    (service,) = dev_stack.of_type(SERVICE)
    target_group = named(dev_stack, TARGET_GROUP, "web-tg")
    (rule,) = [r for r in dev_stack.of_type("aws:lb/listenerRule:ListenerRule")
               if r.inputs["actions"][0].get("targetGroupArn") == target_group.outputs["arn"]]
    policy = named(dev_stack, "aws:iam/rolePolicy:RolePolicy", "web-execution-policy")
    assert {rule.urn, policy.urn} <= set(service.dependencies)


# --- The stack: cluster, deployments and scaling ----------------------------------------------------------------


def test_the_cluster_has_container_insights_and_both_fargate_capacity_providers(dev_stack):
    (cluster,) = dev_stack.of_type("aws:ecs/cluster:Cluster")
    (providers,) = dev_stack.of_type("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert providers.inputs["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


def test_prod_runs_a_base_on_fargate_and_the_rest_mostly_on_spot(prod_stack):
    (service,) = prod_stack.of_type(SERVICE)
    assert service.inputs["capacityProviderStrategies"] == [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3}]


def test_a_failed_deployment_rolls_back_and_new_tasks_get_a_grace_period(prod_stack):
    (service,) = prod_stack.of_type(SERVICE)
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service.inputs["healthCheckGracePeriodSeconds"] == 60
    assert service.inputs["enableExecuteCommand"] is False


def test_a_redeploy_leaves_the_running_task_count_to_auto_scaling(prod_stack):
    (service,) = prod_stack.of_type(SERVICE)
    assert service.options["ignoreChanges"] == ["desiredCount"]
    assert service.inputs["desiredCount"] == 2


def test_the_scaling_target_spans_the_configured_task_counts(prod_stack):
    (service,) = prod_stack.of_type(SERVICE)
    (cluster,) = prod_stack.of_type("aws:ecs/cluster:Cluster")
    (target,) = prod_stack.of_type("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 6)
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    assert target.inputs["resourceId"] == f"service/{cluster.outputs['name']}/{service.outputs['name']}"


def test_target_tracking_follows_cpu_and_memory_at_the_configured_targets(prod_stack):
    (target,) = prod_stack.of_type("aws:appautoscaling/target:Target")
    tracked = {}
    for policy in prod_stack.of_type(SCALING_POLICY):
        assert policy.inputs["policyType"] == "TargetTrackingScaling"
        assert policy.inputs["resourceId"] == target.inputs["resourceId"]
        configuration = policy.inputs["targetTrackingScalingPolicyConfiguration"]
        tracked[configuration["predefinedMetricSpecification"]["predefinedMetricType"]] = configuration["targetValue"]
    assert tracked == {"ECSServiceAverageCPUUtilization": 60, "ECSServiceAverageMemoryUtilization": 75}


def test_a_disabled_service_creates_nothing(stack_with):
    recording = stack_with("dev", {"aws-compute:service.enabled": "false"})
    assert not [r for r in recording.resources if r.type.startswith(("aws:ecs", "aws:ecr", "aws:appautoscaling"))]
    assert "clusterName" not in recording.outputs


def test_the_stack_exports_the_repository_cluster_and_service(dev_stack):
    (repository,) = dev_stack.of_type("aws:ecr/repository:Repository")
    (service,) = dev_stack.of_type(SERVICE)
    (cluster,) = dev_stack.of_type("aws:ecs/cluster:Cluster")
    assert dev_stack.outputs["repositoryUrl"] == repository.outputs["repositoryUrl"]
    assert dev_stack.outputs["serviceName"] == service.outputs["name"]
    assert dev_stack.outputs["clusterName"] == cluster.outputs["name"]


def test_with_build_the_stack_builds_app_web_and_pushes_it_to_its_own_repository(stack_with):
    recording = stack_with("dev", {"aws-compute:service.build": "true", "aws-compute:service.imageTag": ""})
    (image,) = recording.of_type("docker-build:index:Image")
    (repository,) = recording.of_type("aws:ecr/repository:Repository")
    assert image.inputs["push"] is True
    assert image.inputs["context"] == {"location": "app/web"}
    assert image.inputs["platforms"] == ["linux/amd64"]
    [tag] = image.inputs["tags"]
    assert tag == f"{repository.outputs['repositoryUrl']}:{context_tag()}"
    [registry] = image.inputs["registries"]
    assert registry["address"] == repository.outputs["repositoryUrl"]
    assert registry["password"]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270", \
        "the registry password stays a secret"


def test_a_built_image_runs_by_its_digest(stack_with):
    recording = stack_with("dev", {"aws-compute:service.build": "true", "aws-compute:service.imageTag": ""})
    (image,) = recording.of_type("docker-build:index:Image")
    assert the_container(recording)["image"] == image.outputs["ref"]
    assert "@sha256:" in image.outputs["ref"]


def test_the_build_tag_follows_the_content_of_app_web(tmp_path):
    (tmp_path / "server.py").write_text("print('v1')\n")
    first = context_tag(tmp_path)
    assert context_tag(tmp_path) == first
    (tmp_path / "server.py").write_text("print('v2')\n")
    assert context_tag(tmp_path) != first
    assert first.startswith("build-")

