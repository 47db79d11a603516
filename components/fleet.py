"""The Fleet layer: an EC2 Auto Scaling group across the private subnets of every AZ, behind the LoadBalancer.

Instances run the web service from the user data (app/userdata), are reachable only from the load
balancer's security group on the service port, and are managed through SSM rather than SSH. The group
scales on CPU, by steps on two alarms or by target tracking, as the config chooses.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from app.userdata import render_user_data

from .config import FleetSettings
from .context import DeployContext
from .iam import instance_trust_policy, session_manager_policy, to_json
from .load_balancer import LoadBalancer
from .operations import HostOperations
from .tags import with_name

ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023's root device name
ALARM_PERIOD_SECONDS = 60
TARGET_5XX_PER_MINUTE = 10
ENABLED_METRICS = ("GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
                   "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances")
# An instance refresh launches each replacement before it terminates the old instance: never below the
# desired capacity in service, at most twice it meanwhile (the EC2 Auto Scaling API reference, RefreshPreferences
# and InstanceMaintenancePolicy: max 100-200, max - min at most 100). With 90 % a group of one lost its only
# instance first.
REFRESH_MIN_HEALTHY_PERCENT, REFRESH_MAX_HEALTHY_PERCENT = 100, 200
AUTOSCALING_SERVICE = "autoscaling.amazonaws.com"
# IAM names the role AWSServiceRoleForAutoScaling_<suffix>; a role name has at most 64 characters.
AUTOSCALING_ROLE_PREFIX = "AWSServiceRoleForAutoScaling_"
MAX_ROLE_SUFFIX = 64 - len(AUTOSCALING_ROLE_PREFIX)
# What Auto Scaling needs of a customer-managed key to launch instances with volumes encrypted by it.
AUTOSCALING_KEY_OPERATIONS = ("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                              "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant")


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm, independent of Pulumi: what it watches and when it fires."""

    role: str
    namespace: str
    metric: str
    statistic: str
    comparison: str
    threshold: float
    evaluation_periods: int
    description: str


@dataclass(frozen=True)
class StepPolicySpec:
    """A step scaling policy and the alarm that triggers it."""

    role: str
    adjustment: int
    alarm: AlarmSpec

    @property
    def step(self) -> dict[str, str | int]:
        # The step is relative to the alarm threshold: at or beyond it, in the alarm's direction.
        bound = "metric_interval_lower_bound" if self.adjustment > 0 else "metric_interval_upper_bound"
        return {"scaling_adjustment": self.adjustment, bound: "0"}


def step_scaling_plan(settings: FleetSettings) -> list[StepPolicySpec]:
    """Scale out when average CPU is at or above scaleOutCpu, in when at or below scaleInCpu."""
    def cpu_alarm(role: str, comparison: str, threshold: int, words: str) -> AlarmSpec:
        return AlarmSpec(role, "AWS/EC2", "CPUUtilization", "Average", comparison, threshold,
                         settings.evaluation_periods, f"Average CPU of the fleet {words} {threshold}%")

    return [
        StepPolicySpec("scale-out", settings.scale_out_by,
                       cpu_alarm("cpu-high", "GreaterThanOrEqualToThreshold", settings.scale_out_cpu, "at or above")),
        StepPolicySpec("scale-in", -settings.scale_in_by,
                       cpu_alarm("cpu-low", "LessThanOrEqualToThreshold", settings.scale_in_cpu, "at or below")),
    ]


def health_alarm_plan(settings: FleetSettings) -> list[AlarmSpec]:
    """Alarms on what scaling does not fix: targets failing health checks, and targets answering 5xx."""
    return [
        AlarmSpec("unhealthy-hosts", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum",
                  "GreaterThanOrEqualToThreshold", 1, settings.unhealthy_threshold,
                  "At least one fleet instance fails the load balancer's health check"),
        AlarmSpec("target-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum",
                  "GreaterThanOrEqualToThreshold", TARGET_5XX_PER_MINUTE, 1,
                  f"Fleet instances answered {TARGET_5XX_PER_MINUTE} or more 5xx responses in a minute"),
    ]


def autoscaling_role_suffix(name_prefix: str) -> str:
    """The custom suffix of the stack's own Auto Scaling service-linked role: one role per stack, so it never
    collides with the account's default AWSServiceRoleForAutoScaling (which a new account does not have yet)
    nor with another stack's. IAM allows letters, digits and _+=,.@- in it."""
    return re.sub(r"[^\w+=,.@-]", "-", name_prefix)[:MAX_ROLE_SUFFIX]


def service_environment(settings: FleetSettings, environment: str, lb_idle_timeout: int) -> dict[str, str]:
    """The web service's environment on each instance. Its idle timeout stays above the load balancer's,
    so that the load balancer, not the instance, closes idle connections."""
    return {
        "PORT": str(settings.service_port),
        "SERVICE_NAME": "web",
        "ENVIRONMENT": environment,
        "IDLE_TIMEOUT_SECONDS": str(lb_idle_timeout + 5),
    }


def launch_template_user_data(service_env: Mapping[str, str], agent_config_parameter: str = "") -> str:
    """The web service's cloud-init script, base64-encoded as launch templates take it."""
    script = render_user_data(service_env, service_name="web", agent_config_parameter=agent_config_parameter)
    return base64.b64encode(script.encode()).decode("ascii")


@dataclass(frozen=True)
class FleetArgs:
    settings: FleetSettings
    context: DeployContext
    load_balancer: LoadBalancer
    """The ALB the fleet's target group is routed from; its security group is the only one admitted."""
    lb_idle_timeout: int
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """One private subnet per AZ; the group spans all of them."""
    key_arn: pulumi.Input[str]
    """The stack's KMS key, for the root volumes."""
    operations: HostOperations | None = None
    """The CloudWatch agent's configuration and the patching rights (components/operations.py), if any."""
    alarm_topic_arn: str = ""
    """The stack's alarm topic; the fleet's own alarmTopicArn when empty."""


class Fleet(pulumi.ComponentResource):
    target_group_arn: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]
    group_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: FleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:fleet:Fleet", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        settings, lb = args.settings, args.load_balancer

        # --- Target group and route ----------------------------------------------------------------
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            vpc_id=lb.vpc_id,
            target_type="instance",
            port=settings.service_port,
            protocol="HTTP",
            deregistration_delay=settings.deregistration_delay,
            health_check={
                "enabled": True,
                "protocol": "HTTP",
                "port": "traffic-port",
                "path": settings.health_check_path,
                "matcher": "200",
                "interval": settings.health_check_interval,
                "timeout": settings.health_check_timeout,
                "healthy_threshold": settings.healthy_threshold,
                "unhealthy_threshold": settings.unhealthy_threshold,
            },
            tags=self._tags("tg"),
            opts=self._child,
        )
        lb.add_route("fleet", target_group, priority=settings.listener_rule_priority,
                     path_patterns=settings.path_patterns)

        # --- Instances: security group, role, launch template ---------------------------------------
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=lb.vpc_id,
            description="Fleet instances: the service port from the load balancer only",
            ingress=[{"description": "the service port from the load balancer's security group", "protocol": "tcp",
                      "from_port": settings.service_port, "to_port": settings.service_port,
                      "security_groups": [lb.security_group_id]}],
            # HTTPS out reaches SSM, package repositories and AWS APIs through NAT or endpoints.
            egress=[{"description": "HTTPS to AWS services and package repositories", "protocol": "tcp",
                     "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}],
            tags=self._tags("instances"),
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            path=args.context.iam_path,
            description="Fleet instances: managed through Systems Manager",
            assume_role_policy=to_json(instance_trust_policy()),
            tags=self._tags("instances"),
            opts=self._child,
        )
        ctx = args.context
        aws.iam.RolePolicy(f"{name}-ssm", role=role.id, opts=self._child,
                           policy=to_json(session_manager_policy(ctx.partition, ctx.region, ctx.account_id)))
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, path=ctx.iam_path,
                                          tags=self._tags("instances"),
                                          opts=self._child)
        waits_for = list(args.operations.depends_on) if args.operations else []
        if args.operations:
            waits_for.append(aws.iam.RolePolicy(f"{name}-operations", role=role.id, policy=args.operations.policy,
                                                opts=self._child))
        launch_template = self._launch_template(security_group, profile)
        # The group launches with a service-linked role the stack owns: a grant to the account's default
        # role fails on an account that has never had an Auto Scaling group (InvalidArnException), since AWS
        # creates that role only with the first group. Custom suffixes: Auto Scaling user guide,
        # "Service-linked roles for Amazon EC2 Auto Scaling"; a deleted stack deletes its role after its group.
        service_role = aws.iam.ServiceLinkedRole(
            f"{name}-autoscaling-role",
            aws_service_name=AUTOSCALING_SERVICE,
            custom_suffix=autoscaling_role_suffix(ctx.name_prefix),
            description=f"EC2 Auto Scaling for the {ctx.name_prefix} fleet",
            tags=self._tags("autoscaling-role"),
            opts=self._child,
        )
        # The stack key's policy does not name the service-linked role; without this grant it could not
        # create the encrypted root volumes, and every launch would fail. (The provider retries CreateGrant
        # while the new role propagates through IAM.)
        key_grant = aws.kms.Grant(
            f"{name}-key-grant",
            key_id=args.key_arn,
            grantee_principal=service_role.arn,
            operations=list(AUTOSCALING_KEY_OPERATIONS),
            opts=self._child,
        )

        # --- Auto Scaling group ------------------------------------------------------------------------
        group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=list(args.private_subnet_ids),
            min_size=settings.min_size,
            max_size=settings.max_size,
            desired_capacity=settings.desired_capacity,
            target_group_arns=[target_group.arn],
            health_check_type="ELB",
            health_check_grace_period=settings.health_check_grace_period,
            default_instance_warmup=settings.instance_warmup,
            enabled_metrics=list(ENABLED_METRICS),
            metrics_granularity="1Minute",
            # Pinning the template's latest version number (not "$Latest") is what makes a template change
            # start an instance refresh.
            launch_template=None if settings.mixed_instances else {
                "id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            mixed_instances_policy=self._mixed_instances(launch_template) if settings.mixed_instances else None,
            capacity_rebalance=settings.mixed_instances,
            service_linked_role_arn=service_role.arn,
            instance_refresh={"strategy": "Rolling", "preferences": {
                "min_healthy_percentage": REFRESH_MIN_HEALTHY_PERCENT,
                "max_healthy_percentage": REFRESH_MAX_HEALTHY_PERCENT,
                "instance_warmup": str(settings.instance_warmup), "auto_rollback": True}},
            tags=[{"key": key, "value": value, "propagate_at_launch": True}
                  for key, value in self._tags("instance").items()],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[key_grant, *waits_for]),
        )

        # --- Scaling and alarms --------------------------------------------------------------------------
        if settings.scaling == "step":
            self._step_scaling(group)
        else:
            aws.autoscaling.Policy(
                f"{name}-cpu-target",
                autoscaling_group_name=group.name,
                policy_type="TargetTrackingScaling",
                estimated_instance_warmup=settings.instance_warmup,
                target_tracking_configuration={
                    "predefined_metric_specification": {"predefined_metric_type": "ASGAverageCPUUtilization"},
                    "target_value": float(settings.target_cpu),
                },
                opts=self._child,
            )
        dimensions = {"TargetGroup": target_group.arn_suffix, "LoadBalancer": lb.arn_suffix}
        topic = args.alarm_topic_arn or settings.alarm_topic_arn
        notify = [topic] if topic else []
        for spec in health_alarm_plan(settings):
            self._alarm(spec, dimensions, actions=notify, ok_actions=notify)

        self.target_group_arn = target_group.arn
        self.launch_template_id = launch_template.id
        self.group_name = group.name
        self.security_group_id = security_group.id
        self.role_name = role.name
        self.register_outputs({
            "targetGroupArn": self.target_group_arn,
            "launchTemplateId": self.launch_template_id,
            "groupName": self.group_name,
            "securityGroupId": self.security_group_id,
        })

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-fleet-{role}")

    def _image_id(self) -> pulumi.Input[str]:
        settings = self._args.settings
        if settings.ami_id:
            return settings.ami_id
        return aws.ssm.get_parameter(name=settings.ami_parameter).value

    def _launch_template(self, security_group: aws.ec2.SecurityGroup,
                         profile: aws.iam.InstanceProfile) -> aws.ec2.LaunchTemplate:
        settings, ctx = self._args.settings, self._args.context
        instance_tags = self._tags("instance")
        return aws.ec2.LaunchTemplate(
            f"{self._name}-lt",
            description="Fleet instances running the web service",
            image_id=self._image_id(),
            instance_type=None if settings.mixed_instances else settings.instance_type,
            iam_instance_profile={"arn": profile.arn},
            network_interfaces=[{"device_index": 0, "associate_public_ip_address": "false",
                                 "delete_on_termination": "true", "security_groups": [security_group.id]}],
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                              "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
            block_device_mappings=[{"device_name": ROOT_DEVICE, "ebs": {
                "volume_size": settings.root_volume_size, "volume_type": "gp3", "encrypted": "true",
                "kms_key_id": self._args.key_arn, "delete_on_termination": "true"}}],
            monitoring={"enabled": True},
            ebs_optimized="true",
            user_data=launch_template_user_data(
                service_environment(settings, ctx.environment, self._args.lb_idle_timeout),
                self._args.operations.agent_config_parameter if self._args.operations else ""),
            update_default_version=True,
            tag_specifications=[{"resource_type": "instance", "tags": instance_tags},
                                {"resource_type": "volume", "tags": self._tags("volume")},
                                {"resource_type": "network-interface", "tags": instance_tags}],
            tags=self._tags("lt"),
            opts=self._child,
        )

    def _mixed_instances(self, launch_template: aws.ec2.LaunchTemplate) -> dict:
        settings = self._args.settings
        return {
            "instances_distribution": {
                "on_demand_base_capacity": settings.on_demand_base,
                "on_demand_percentage_above_base_capacity": settings.on_demand_percent_above_base,
                "spot_allocation_strategy": settings.spot_allocation_strategy,
            },
            "launch_template": {
                "launch_template_specification": {"launch_template_id": launch_template.id,
                                                  "version": launch_template.latest_version.apply(str)},
                "overrides": [{"instance_type": instance_type} for instance_type in settings.instance_types],
            },
        }

    def _step_scaling(self, group: aws.autoscaling.Group) -> None:
        settings = self._args.settings
        for spec in step_scaling_plan(settings):
            policy = aws.autoscaling.Policy(
                f"{self._name}-{spec.role}",
                autoscaling_group_name=group.name,
                policy_type="StepScaling",
                adjustment_type="ChangeInCapacity",
                metric_aggregation_type="Average",
                estimated_instance_warmup=settings.instance_warmup,
                step_adjustments=[spec.step],
                opts=self._child,
            )
            self._alarm(spec.alarm, {"AutoScalingGroupName": group.name}, actions=[policy.arn])

    def _alarm(self, spec: AlarmSpec, dimensions: Mapping[str, pulumi.Input[str]],
               actions: Sequence[pulumi.Input[str]], ok_actions: Sequence[pulumi.Input[str]] = ()) -> None:
        aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.role}",
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            statistic=spec.statistic,
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=spec.evaluation_periods,
            dimensions=dict(dimensions),
            treat_missing_data="notBreaching",
            alarm_actions=list(actions),
            ok_actions=list(ok_actions),
            tags=self._tags(spec.role),
            opts=self._child,
        )
