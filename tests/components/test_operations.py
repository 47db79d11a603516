"""Operations: the CloudWatch agent's configuration and permission, and Patch Manager's maintenance window,
as pure functions and in the recorded dev and prod stacks."""

from __future__ import annotations

import base64
import json

import pytest

from components.operations import agent_config, host_policy, metrics_namespace, patch_parameters

PARAMETER = "aws:ssm/parameter:Parameter"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WINDOW = "aws:ssm/maintenanceWindow:MaintenanceWindow"
TARGET = "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget"
TASK = "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"
INSTANCE = "aws:ec2/instance:Instance"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
KEY_ARN_PREFIX = "arn:aws:kms:"


def named(recording, type_token, name):
    [found] = [r for r in recording.of_type(type_token) if r.name == name]
    return found


def statements(policy_json: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(policy_json)["Statement"]}


def policy(**overrides):
    args = {"partition": "aws", "region": "us-east-1", "account_id": "123456789012", "namespace": "aws-compute/dev",
            "parameter_name": "/aws-compute/dev/cloudwatch-agent/server",
            "log_group_names": ["/aws-compute/dev/server/web", "/aws-compute/dev/patching"],
            "patching": True, "reads_group_tags": False, **overrides}
    return {s["Sid"]: s for s in host_policy(**args)["Statement"]}


# --- pure functions ---------------------------------------------------------------------------------


def test_the_namespace_is_the_stacks_own():
    assert metrics_namespace("aws-compute", "prod") == "aws-compute/prod"


def test_the_agent_collects_memory_and_root_disk_every_minute_under_the_namespace():
    config = agent_config("aws-compute/dev", "server", "/aws-compute/dev/server/web")
    assert config["agent"]["metrics_collection_interval"] == 60
    assert config["metrics"]["namespace"] == "aws-compute/dev"
    collected = config["metrics"]["metrics_collected"]
    assert collected["mem"]["measurement"] == ["mem_used_percent"]
    assert (collected["disk"]["measurement"], collected["disk"]["resources"]) == (["used_percent"], ["/"])


def test_the_server_aggregates_by_instance_and_the_fleet_by_group():
    server = agent_config("ns", "server", "/g")["metrics"]
    fleet = agent_config("ns", "fleet", "/g")["metrics"]
    assert server["aggregation_dimensions"] == [["InstanceId"]]
    assert "AutoScalingGroupName" not in server["append_dimensions"]
    assert fleet["aggregation_dimensions"] == [["AutoScalingGroupName"]]
    assert fleet["append_dimensions"]["AutoScalingGroupName"] == "${aws:AutoScalingGroupName}"


def test_the_agent_ships_the_web_services_log_file_to_the_given_group():
    [entry] = agent_config("ns", "fleet", "/aws-compute/dev/fleet/web")["logs"]["logs_collected"]["files"][
        "collect_list"]
    assert entry["file_path"] == "/var/log/web/service.log"
    assert entry["log_group_name"] == "/aws-compute/dev/fleet/web"


def test_publishing_metrics_is_limited_to_the_namespace_by_its_condition_key():
    publish = policy()["PublishMetricsOnlyToTheStacksNamespace"]
    assert publish["Action"] == "cloudwatch:PutMetricData"
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": "aws-compute/dev"}}


def test_the_agent_reads_only_its_own_parameter():
    read = policy()["ReadTheAgentConfiguration"]
    assert (read["Action"], read["Resource"]) == (
        "ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/aws-compute/dev/cloudwatch-agent/server")


def test_logs_are_written_only_to_the_named_groups():
    write = policy()["WriteTheStacksHostLogs"]
    assert write["Resource"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws-compute/dev/server/web",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws-compute/dev/server/web:*",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws-compute/dev/patching",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws-compute/dev/patching:*",
    ]
    assert "logs:CreateLogGroup" not in write["Action"]


def test_patching_adds_the_run_command_channel_and_compliance_reporting_on_the_accounts_instances():
    granted = policy()
    assert set(granted["ReceiveRunCommands"]["Action"]) == {
        f"ec2messages:{a}" for a in ("AcknowledgeMessage", "DeleteMessage", "FailMessage", "GetEndpoint",
                                     "GetMessages", "SendReply")}
    report = granted["ReadTheBaselineAndReportComplianceForThisAccountsInstances"]
    assert set(report["Action"]) == {"ssm:GetDeployablePatchSnapshotForInstance", "ssm:PutInventory",
                                     "ssm:PutComplianceItems"}
    assert report["Resource"] == "arn:aws:ec2:us-east-1:123456789012:instance/*"


def test_without_patching_no_run_command_right_is_granted():
    granted = policy(patching=False)
    actions = json.dumps(list(granted.values()))
    assert "ec2messages" not in actions and "ssm:Put" not in actions


def test_only_the_fleet_may_read_tags_for_its_group_dimension():
    assert "ReadTheAutoScalingGroupNameFromTags" not in policy()
    assert policy(reads_group_tags=True)["ReadTheAutoScalingGroupNameFromTags"]["Action"] == "ec2:DescribeTags"


def test_install_reboots_only_when_needed_and_scan_never_does():
    assert patch_parameters("Install") == {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]}
    assert patch_parameters("Scan") == {"Operation": ["Scan"], "RebootOption": ["NoReboot"]}


# --- the recorded stacks ----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["server", "fleet"])
def test_each_hosts_agent_configuration_is_an_ssm_parameter_of_the_stack(dev_stack, host):
    parameter = named(dev_stack, PARAMETER, f"operations-{host}-agent-config")
    assert parameter.inputs["name"] == f"/aws-compute/dev/cloudwatch-agent/{host}"
    value = parameter.inputs["value"]["value"]  # pulumi-aws marks a parameter's value secret
    assert json.loads(value) == agent_config("aws-compute/dev", host,
                                                                 f"/aws-compute/dev/{host}/web")


@pytest.mark.parametrize("host", ["server", "fleet"])
def test_each_hosts_web_log_group_is_encrypted_and_expires(prod_stack, host):
    group = named(prod_stack, LOG_GROUP, f"operations-{host}-web-logs")
    assert group.inputs["name"] == f"/aws-compute/prod/{host}/web"
    assert group.inputs["kmsKeyId"].startswith(KEY_ARN_PREFIX)
    assert group.inputs["retentionInDays"] == 365


def test_the_servers_user_data_fetches_its_agent_configuration(dev_stack):
    user_data = named(dev_stack, INSTANCE, "server-instance").inputs["userData"]
    assert 'AGENT_CONFIG="/aws-compute/dev/cloudwatch-agent/server"' in user_data
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2" in user_data


def test_the_fleets_user_data_fetches_its_agent_configuration(dev_stack):
    user_data = base64.b64decode(named(dev_stack, LT, "fleet-lt").inputs["userData"]).decode()
    assert 'AGENT_CONFIG="/aws-compute/dev/cloudwatch-agent/fleet"' in user_data


@pytest.mark.parametrize(("host", "launcher", "launcher_type"), [("server", "server-instance", INSTANCE),
                                                                  ("fleet", "fleet-asg", ASG)])
def test_each_hosts_role_gets_the_operations_policy_before_instances_launch(dev_stack, host, launcher,
                                                                            launcher_type):
    attached = named(dev_stack, ROLE_POLICY, f"{host}-operations")
    role = named(dev_stack, "aws:iam/role:Role", f"{host}-role")
    assert attached.inputs["role"] == role.id
    granted = statements(attached.inputs["policy"])
    assert granted["PublishMetricsOnlyToTheStacksNamespace"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "aws-compute/dev"}}
    waits_for = named(dev_stack, launcher_type, launcher).dependencies
    assert attached.urn in waits_for
    assert named(dev_stack, PARAMETER, f"operations-{host}-agent-config").urn in waits_for


def test_the_patch_window_opens_on_the_configured_schedule(dev_stack, prod_stack):
    assert named(dev_stack, WINDOW, "operations-patch-window").inputs["schedule"] == "cron(0 3 ? * SUN *)"
    window = named(prod_stack, WINDOW, "operations-patch-window").inputs
    assert (window["schedule"], window["duration"], window["cutoff"]) == ("cron(0 2 ? * SUN *)", 3, 1)


def test_the_patch_window_targets_the_instances_by_the_name_tags_their_layers_give_them(dev_stack):
    [target] = named(dev_stack, TARGET, "operations-patch-targets").inputs["targets"]
    server_name = named(dev_stack, INSTANCE, "server-instance").inputs["tags"]["Name"]
    fleet_name = next(spec["tags"]["Name"] for spec in named(dev_stack, LT, "fleet-lt").inputs["tagSpecifications"]
                      if spec["resourceType"] == "instance")
    assert target["key"] == "tag:Name"
    assert sorted(target["values"]) == sorted([fleet_name, server_name])


def test_the_patch_task_runs_the_patch_baseline_with_output_to_the_encrypted_patch_log_group(dev_stack):
    task = named(dev_stack, TASK, "operations-patch-task").inputs
    assert (task["taskType"], task["taskArn"]) == ("RUN_COMMAND", "AWS-RunPatchBaseline")
    run = task["taskInvocationParameters"]["runCommandParameters"]
    assert {p["name"]: p["values"] for p in run["parameters"]} == patch_parameters("Install")
    assert run["cloudwatchConfig"] == {"cloudwatchLogGroupName": "/aws-compute/dev/patching",
                                       "cloudwatchOutputEnabled": True}
    logs = named(dev_stack, LOG_GROUP, "operations-patch-logs").inputs
    assert logs["name"] == "/aws-compute/dev/patching" and logs["kmsKeyId"].startswith(KEY_ARN_PREFIX)


def test_turning_patching_off_removes_the_window_and_the_run_command_rights(stack_with):
    recording = stack_with("dev", {"aws-compute:operations.patching": "false"})
    assert not recording.of_type(WINDOW) and not recording.of_type(TASK)
    assert "ec2messages" not in named(recording, ROLE_POLICY, "server-operations").inputs["policy"]


def test_without_servers_or_fleet_nothing_is_created_for_hosts(stack_with):
    recording = stack_with("dev", {"aws-compute:server.enabled": "false", "aws-compute:fleet.enabled": "false"})
    assert not recording.of_type(WINDOW) and not recording.of_type(PARAMETER)
