"""The Operations layer: what keeps the EC2 hosts (the server, the fleet's instances) patched and observed.

- **Patching** with Systems Manager Patch Manager: a maintenance window on ``operations.patchSchedule`` runs
  AWS-RunPatchBaseline (AWS's default baseline for Amazon Linux 2023) on the instances named by their Name
  tags, half of them at a time, its output streamed to an encrypted log group. A maintenance window rather
  than a State Manager association, because only a window's Run Command task can send its output to
  CloudWatch Logs (an association's output goes to S3 only).
- **The CloudWatch agent**: one configuration per kind of host, kept in an SSM parameter the stack creates and
  fetched at boot (app/userdata); memory and root disk use every minute under the stack's own namespace, and
  the web service's log file shipped to an encrypted log group with retention.
- **The hosts' permissions** for both, built here and attached by the Server and the Fleet to their own roles
  (``HostOperations``), so the instances never boot before their configuration and rights exist.

Alarms and the dashboard are in components/alarms.py and components/dashboard.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .config import OperationsSettings
from .context import DeployContext
from .iam import Document, document, to_json
from .tags import with_name

Host = Literal["server", "fleet"]
WEB_LOG_FILE = "/var/log/web/service.log"  # where the web service's unit appends its output (app/userdata)
PATCH_DOCUMENT = "AWS-RunPatchBaseline"
PATCH_CUTOFF_HOURS = 1
PATCH_MAX_CONCURRENCY = "50%"  # half the instances at a time: the fleet keeps serving while the rest reboot
PATCH_MAX_ERRORS = "1"
PATCH_TIMEOUT_SECONDS = 3600
# What the SSM agent needs to receive and answer Run Command messages (newer agents use ssmmessages, which the
# Session Manager policy grants); these actions accept only "*".
RUN_COMMAND_CHANNEL = ("ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
                       "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply")


# --- Pure functions (tested without Pulumi) ----------------------------------------------------------------

def metrics_namespace(project: str, stack: str) -> str:
    """The agent's custom namespace: the stack's own (custom namespaces must not start with "AWS/")."""
    return f"{project}/{stack}"


def agent_parameter_name(ctx: DeployContext, host: Host) -> str:
    """A fixed name under the stack's path: the user data is rendered with it before anything is deployed."""
    return f"/{ctx.project}/{ctx.stack}/cloudwatch-agent/{host}"


def web_log_group_name(ctx: DeployContext, host: Host) -> str:
    return ctx.log_group_name(f"{host}/web")


def patch_log_group_name(ctx: DeployContext) -> str:
    return ctx.log_group_name("patching")


def instance_name_tag(ctx: DeployContext, host: Host) -> str:
    """The Name tag the Server and the Fleet give their instances (with_name(..., "<prefix>-<host>-instance"))."""
    return f"{ctx.name_prefix}-{host}-instance"


def group_dimension(host: Host) -> str:
    """The dimension the agent's metrics are aggregated over: one server, or the whole Auto Scaling group."""
    return "InstanceId" if host == "server" else "AutoScalingGroupName"


def agent_config(namespace: str, host: Host, log_group_name: str) -> dict[str, Any]:
    """The CloudWatch agent's configuration: memory and root disk use each minute, aggregated over
    ``group_dimension(host)`` (the alarms and the dashboard read those series), and the web service's log."""
    dimensions = {"InstanceId": "${aws:InstanceId}"}
    if host == "fleet":
        dimensions["AutoScalingGroupName"] = "${aws:AutoScalingGroupName}"
    return {
        "agent": {"metrics_collection_interval": 60, "omit_hostname": True},
        "metrics": {
            "namespace": namespace,
            "append_dimensions": dimensions,
            "aggregation_dimensions": [[group_dimension(host)]],
            "metrics_collected": {
                "mem": {"measurement": ["mem_used_percent"]},
                "disk": {"measurement": ["used_percent"], "resources": ["/"], "drop_device": True},
            },
        },
        "logs": {"logs_collected": {"files": {"collect_list": [{
            "file_path": WEB_LOG_FILE, "log_group_name": log_group_name, "log_stream_name": "{instance_id}",
        }]}}},
    }


def host_policy(partition: str, region: str, account_id: str, namespace: str, parameter_name: str,
                log_group_names: list[str], patching: bool, reads_group_tags: bool) -> Document:
    """The host's rights for the agent and, when ``patching``, for AWS-RunPatchBaseline run by Run Command.

    Publishing metrics is limited to the stack's namespace by the cloudwatch:namespace condition key (the only
    scoping PutMetricData supports); the rest names the parameter, the log groups and this account's instances."""
    log_groups = [f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}" for name in log_group_names]
    statements: list[Document] = [
        {
            "Sid": "PublishMetricsOnlyToTheStacksNamespace",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
        },
        {
            "Sid": "ReadTheAgentConfiguration",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:{partition}:ssm:{region}:{account_id}:parameter{parameter_name}",
        },
        {
            "Sid": "WriteTheStacksHostLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [arn + suffix for arn in log_groups for suffix in ("", ":*")],
        },
    ]
    if reads_group_tags:
        statements.append({
            "Sid": "ReadTheAutoScalingGroupNameFromTags",  # the agent's ${aws:AutoScalingGroupName}
            "Effect": "Allow",
            "Action": "ec2:DescribeTags",
            "Resource": "*",
        })
    if patching:
        statements += [
            {
                "Sid": "ReceiveRunCommands",
                "Effect": "Allow",
                "Action": list(RUN_COMMAND_CHANNEL),
                "Resource": "*",
            },
            {
                # The instance ID is each call's subject: scoped like ssm:UpdateInstanceInformation in
                # session_manager_policy, to this account's instances in the region.
                "Sid": "ReadTheBaselineAndReportComplianceForThisAccountsInstances",
                "Effect": "Allow",
                "Action": ["ssm:GetDeployablePatchSnapshotForInstance", "ssm:PutInventory", "ssm:PutComplianceItems"],
                "Resource": f"arn:{partition}:ec2:{region}:{account_id}:instance/*",
            },
            {
                "Sid": "FindTheOutputLogGroup",  # the SSM agent checks the group exists before streaming to it
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": "*",
            },
        ]
    return document(*statements)


def patch_parameters(operation: str) -> dict[str, list[str]]:
    """AWS-RunPatchBaseline's parameters: a reboot only when an installed patch needs one."""
    return {"Operation": [operation], "RebootOption": ["RebootIfNeeded" if operation == "Install" else "NoReboot"]}


# --- The component ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostOperations:
    """What a host layer (Server, Fleet) takes from Operations: the user data's agent parameter, the policy
    its role gets, and the resources its instances must wait for."""

    agent_config_parameter: str
    policy: str
    depends_on: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class OperationsArgs:
    settings: OperationsSettings
    context: DeployContext
    key_arn: pulumi.Input[str]
    """The stack's KMS key: the log groups are encrypted with it."""
    hosts: tuple[Host, ...]
    """The host layers the config enables; nothing is created for the others."""


class Operations(pulumi.ComponentResource):
    namespace: str
    hosts: dict[str, HostOperations]
    patch_log_group_name: str | None
    maintenance_window_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:operations:Operations", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        settings, ctx = args.settings, args.context
        self.namespace = metrics_namespace(ctx.project, ctx.stack)
        patching = settings.patching and bool(args.hosts)

        # --- Patching: its output log group, the window, its targets and task ----------------------------------
        self.patch_log_group_name = patch_log_group_name(ctx) if patching else None
        patch_logs = self._log_group("patch-logs", self.patch_log_group_name, "patch-logs") if patching else None
        self.maintenance_window_id = self._maintenance_window() if patching else None

        # --- The agent's configuration and log group, and the policy, per host ------------------------------------
        self.hosts = {}
        for host in args.hosts:
            log_group_name = web_log_group_name(ctx, host)
            logs = self._log_group(f"{host}-web-logs", log_group_name, f"{host}-web-logs")
            parameter_name = agent_parameter_name(ctx, host)
            parameter = aws.ssm.Parameter(
                f"{name}-{host}-agent-config",
                name=parameter_name,
                type="String",  # configuration, no secret: the agent reads it as plain text
                tier="Standard",
                description=f"{ctx.project} {ctx.stack}: CloudWatch agent configuration of the {host}'s instances",
                value=json.dumps(agent_config(self.namespace, host, log_group_name), sort_keys=True),
                tags=self._tags(f"{host}-agent-config"),
                opts=self._child,
            )
            policy = host_policy(ctx.partition, ctx.region, ctx.account_id, self.namespace, parameter_name,
                                 [log_group_name] + ([self.patch_log_group_name] if patching else []),
                                 patching=patching, reads_group_tags=host == "fleet")
            self.hosts[host] = HostOperations(parameter_name, to_json(policy),
                                              [parameter, logs] + ([patch_logs] if patch_logs else []))

        self.register_outputs({"namespace": self.namespace, "maintenanceWindowId": self.maintenance_window_id})

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-operations-{role}")

    def _log_group(self, resource: str, log_group_name: str, role: str) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{resource}",
            name=log_group_name,
            retention_in_days=self._args.settings.log_retention_days,
            kms_key_id=self._args.key_arn,
            tags=self._tags(role),
            opts=self._child,
        )

    def _maintenance_window(self) -> pulumi.Output[str]:
        settings, ctx = self._args.settings, self._args.context
        window = aws.ssm.MaintenanceWindow(
            f"{self._name}-patch-window",
            name=f"{ctx.name_prefix}-patching",
            description=f"{ctx.project} {ctx.stack}: {PATCH_DOCUMENT} ({settings.patch_operation}) on the stack's "
                        f"instances",
            schedule=settings.patch_schedule,
            duration=settings.patch_window_hours,
            cutoff=PATCH_CUTOFF_HOURS,
            allow_unassociated_targets=False,
            tags=self._tags("patch-window"),
            opts=self._child,
        )
        target = aws.ssm.MaintenanceWindowTarget(
            f"{self._name}-patch-targets",
            window_id=window.id,
            name=f"{ctx.name_prefix}-instances",
            description="The server and the fleet's instances, by the Name tag their layers give them",
            resource_type="INSTANCE",
            targets=[aws.ssm.MaintenanceWindowTargetTargetArgs(
                key="tag:Name", values=[instance_name_tag(ctx, host) for host in self._args.hosts])],
            opts=self._child,
        )
        # No service role: Systems Manager runs the task with its service-linked role, AWSServiceRoleForAmazonSSM.
        aws.ssm.MaintenanceWindowTask(
            f"{self._name}-patch-task",
            window_id=window.id,
            name=f"{ctx.name_prefix}-run-patch-baseline",
            description=f"{PATCH_DOCUMENT}: {settings.patch_operation}",
            task_type="RUN_COMMAND",
            task_arn=PATCH_DOCUMENT,
            priority=1,
            max_concurrency=PATCH_MAX_CONCURRENCY,
            max_errors=PATCH_MAX_ERRORS,
            targets=[aws.ssm.MaintenanceWindowTaskTargetArgs(key="WindowTargetIds", values=[target.id])],
            task_invocation_parameters={"run_command_parameters": {
                "document_version": "$DEFAULT",
                "timeout_seconds": PATCH_TIMEOUT_SECONDS,
                "comment": f"{ctx.name_prefix} patching",
                "parameters": [{"name": key, "values": values}
                               for key, values in patch_parameters(settings.patch_operation).items()],
                "cloudwatch_config": {"cloudwatch_log_group_name": self.patch_log_group_name,
                                      "cloudwatch_output_enabled": True},
            }},
            opts=self._child,
        )
        return window.id
