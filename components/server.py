"""The Server layer: one EC2 web server reached by SSM Session Manager (or SSH from listed sources), with an
encrypted data volume, a snapshot of it, a restore of that snapshot in another AZ, an optional copy in a
disaster-recovery region, and scheduled backups by Data Lifecycle Manager.

Decisions a reader should know:
- Egress is HTTPS only, to anywhere: SSM, the AWS APIs and Amazon Linux's package repositories are all
  HTTPS. DNS, NTP and the metadata service are link-local and not filtered by security groups.
- The instance role holds only the Session Manager actions (not the broad AmazonSSMManagedInstanceCore),
  plus what the operations layer passes in (components/operations.py): patching and the CloudWatch agent.
- An AMI resolved from the SSM parameter is read once: later AMI releases do not replace the server
  (ignore_changes), since that would detach its data volume; set ``amiId`` to move on deliberately.
- A changed user data replaces the instance, so a new version of the service is rolled out. The data
  volume's attachment is deleted before it is replaced and stops the old instance first, so the volume
  is free to attach to the new one (pulumi-aws#2769).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from app.userdata import render_user_data

from .config import ServerSettings
from .context import DeployContext
from .iam import Document, dlm_trust_policy, document, instance_trust_policy, session_manager_policy, to_json
from .operations import HostOperations
from .tags import with_name

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"
SERVICE_PORT = 80
HTTPS_PORT = 443
SSH_PORT = 22
LOGIN_USER = "ec2-user"  # Amazon Linux's default user
BACKUP_TAG = "BackupPolicy"  # the DLM policy snapshots the volumes that carry this tag with its value
WORLD = "0.0.0.0/0"


# --- Pure planning functions (tested without Pulumi) ---------------------------------------------------------

def ami_parameter(architecture: str) -> str:
    """AWS's public SSM parameter naming the current Amazon Linux 2023 AMI for ``architecture``."""
    return AMI_PARAMETER.format(architecture=architecture)


def restore_zone(zones: list[str], server_zone: str, configured: str = "") -> str:
    """The AZ of the restored volume: the configured one, else the AZ after the server's (wrapping round)."""
    if configured:
        return configured
    return zones[(zones.index(server_zone) + 1) % len(zones)]


@dataclass(frozen=True)
class Rule:
    """One security group rule; the component turns it into the provider's ingress or egress args."""

    description: str
    port: int
    cidrs: tuple[str, ...]

    @property
    def ipv4(self) -> list[str]:
        return [c for c in self.cidrs if ":" not in c]

    @property
    def ipv6(self) -> list[str]:
        return [c for c in self.cidrs if ":" in c]


def ingress_rules(settings: ServerSettings, vpc_cidr: str) -> list[Rule]:
    """HTTP (and HTTPS) from httpCidrs, or the VPC when none are listed; SSH only from sshCidrs."""
    web_sources = settings.http_cidrs or (vpc_cidr,)
    rules = [Rule("HTTP to the web service", SERVICE_PORT, web_sources)]
    if settings.https_port:
        rules.append(Rule("HTTPS, for a TLS front on the server", HTTPS_PORT, web_sources))
    if settings.ssh_cidrs:
        rules.append(Rule("SSH from the listed administrators' addresses", SSH_PORT, settings.ssh_cidrs))
    return rules


def egress_rules() -> list[Rule]:
    return [Rule("HTTPS to SSM, the AWS APIs and the Amazon Linux package repositories", HTTPS_PORT, (WORLD,))]


def account_key_policy(partition: str, account_id: str) -> Document:
    """A key the account administers through IAM, and that nothing else may use: the DR region's key."""
    return document({
        "Sid": "AccountAdministersKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    })


def backup_role_policy(partition: str, account_id: str, regions: list[str], tag_value: str,
                       key_arns: list[str]) -> Document:
    """Data Lifecycle Manager's rights: snapshot only volumes carrying the backup tag, delete only snapshots
    carrying it, copy between ``regions`` (the stack's first), and use the keys of those snapshots."""
    region = regions[0]
    snapshots = [f"arn:{partition}:ec2:{r}::snapshot/*" for r in regions]
    tagged = {"StringEquals": {f"aws:ResourceTag/{BACKUP_TAG}": tag_value}}
    statements: list[Document] = [
        {
            "Sid": "DescribeVolumesAndSnapshots",  # Describe* actions take only "*"
            "Effect": "Allow",
            "Action": ["ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"],
            "Resource": "*",
        },
        {
            "Sid": "SnapshotOnlyTheTaggedVolumes",
            "Effect": "Allow",
            "Action": "ec2:CreateSnapshot",
            "Resource": f"arn:{partition}:ec2:{region}:{account_id}:volume/*",
            "Condition": tagged,
        },
        {
            "Sid": "CreateAndTagSnapshots",
            "Effect": "Allow",
            "Action": ["ec2:CreateSnapshot", "ec2:CreateTags"],
            "Resource": snapshots,
        },
        {
            "Sid": "DeleteOnlyItsOwnSnapshots",
            "Effect": "Allow",
            "Action": "ec2:DeleteSnapshot",
            "Resource": snapshots,
            "Condition": tagged,
        },
        {
            "Sid": "UseTheVolumeAndCopyKeysThroughEc2",
            "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*",
                       "kms:GenerateDataKeyWithoutPlaintext"],
            "Resource": key_arns,
            "Condition": {"StringEquals": {"kms:ViaService": [f"ec2.{r}.amazonaws.com" for r in regions]}},
        },
        {
            "Sid": "GrantKeysOnlyToAwsResources",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": key_arns,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]
    if len(regions) > 1:
        statements.insert(3, {
            "Sid": "CopySnapshotsToTheRecoveryRegion",
            "Effect": "Allow",
            "Action": "ec2:CopySnapshot",
            "Resource": snapshots,
        })
    return document(*statements)


# DLM schedules: (create rule, hours between snapshots).
SCHEDULES: dict[str, tuple[dict[str, Any], int]] = {
    "every-12-hours": ({"interval": 12, "interval_unit": "HOURS"}, 12),
    "daily": ({"interval": 24, "interval_unit": "HOURS"}, 24),
    "weekly": ({}, 24 * 7),
}


def backup_create_rule(schedule: str, time_of_day: str) -> dict[str, Any]:
    """DLM's create rule: an interval starting at ``time_of_day`` (UTC), or a cron rule on Sundays."""
    if schedule == "weekly":
        hours, minutes = time_of_day.split(":")
        return {"cron_expression": f"cron({int(minutes)} {int(hours)} ? * SUN *)"}
    return {**SCHEDULES[schedule][0], "times": time_of_day}


def copy_retention(schedule: str, count: int) -> tuple[int, str]:
    """Cross-region copies are kept by age, not count: the age of the oldest of ``count`` local snapshots."""
    hours = SCHEDULES[schedule][1] * count
    if hours % (24 * 7) == 0:
        return hours // (24 * 7), "WEEKS"
    return -(-hours // 24), "DAYS"


# --- The component ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerArgs:
    settings: ServerSettings
    context: DeployContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    availability_zones: list[str]
    """The Network's AZs, in the order of its subnets; the server goes in the first."""
    public_subnet_ids: list[pulumi.Input[str]]
    private_subnet_ids: list[pulumi.Input[str]]
    key_arn: pulumi.Input[str]
    """The stack's KMS key: every volume and snapshot in the stack's region is encrypted with it."""
    operations: HostOperations | None = None
    """The CloudWatch agent's configuration and the patching rights (components/operations.py), if any."""


class Server(pulumi.ComponentResource):
    instance_id: pulumi.Output[str]
    availability_zone: str
    public_ip: pulumi.Output[str] | None
    public_dns: pulumi.Output[str] | None
    ssh_command: pulumi.Output[str] | None
    ssm_command: pulumi.Output[str]
    data_volume_id: pulumi.Output[str]
    snapshot_id: pulumi.Output[str]
    restored_volume_id: pulumi.Output[str]
    dr_snapshot_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: ServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:server:Server", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        settings, ctx = args.settings, args.context
        self.availability_zone = args.availability_zones[0]
        self._protected = settings.protected(ctx.environment == "prod")
        self._stateful = pulumi.ResourceOptions(parent=self, protect=self._protected,
                                                retain_on_delete=self._protected)

        # --- Access: security group, key pair, instance profile ----------------------------------------------
        security_group = self._security_group()
        key_pair = self._key_pair()
        profile = self._instance_profile()

        # --- Instance ------------------------------------------------------------------------------------------
        instance = self._instance(security_group, key_pair, profile)
        self.instance_id = instance.id
        self.ssm_command = pulumi.Output.concat("aws ssm start-session --target ", instance.id,
                                                " --region ", ctx.region)
        self.public_ip = instance.public_ip if settings.public else None
        self.public_dns = instance.public_dns if settings.public else None
        self.ssh_command = None
        if key_pair is not None and settings.ssh_cidrs:
            address = instance.public_dns if settings.public else instance.private_ip
            self.ssh_command = pulumi.Output.concat("ssh -i <your private key> ", LOGIN_USER, "@", address)

        # --- Data volume, snapshot, restore ----------------------------------------------------------------------
        data_volume = self._data_volume()
        aws.ec2.VolumeAttachment(
            f"{name}-data-attachment",
            device_name=settings.device_name,
            instance_id=instance.id,
            volume_id=data_volume.id,
            stop_instance_before_detaching=True,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        snapshot = aws.ebs.Snapshot(
            f"{name}-data-snapshot",
            volume_id=data_volume.id,
            description=f"{ctx.name_prefix} server data volume: the snapshot that the restore and DR copy use",
            tags=self._tags("data-snapshot"),
            opts=self._stateful,
        )
        restored = aws.ebs.Volume(
            f"{name}-restored-data",
            availability_zone=restore_zone(args.availability_zones, self.availability_zone, settings.restore_az),
            snapshot_id=snapshot.id,
            type=settings.data_volume_type,
            iops=settings.data_volume_iops or None,  # io1 and io2 require it, as for the original
            throughput=settings.data_volume_throughput or None,
            encrypted=True,
            kms_key_id=args.key_arn,
            # Backed up like the original: it is the copy to switch to when the server's AZ is lost.
            tags={**self._tags("restored-data"), "RestoredFrom": "data-snapshot", BACKUP_TAG: self._backup_tag_value},
            opts=self._stateful,
        )
        self.data_volume_id = data_volume.id
        self.snapshot_id = snapshot.id
        self.restored_volume_id = restored.id

        # --- Disaster recovery region (optional) -------------------------------------------------------------------
        dr_key = None
        self.dr_snapshot_id = None
        if settings.dr_region:
            in_dr = pulumi.ResourceOptions(parent=self, provider=aws.Provider(
                f"{name}-dr-region", region=settings.dr_region, opts=self._child))
            dr_key = self._dr_key(in_dr)
            self.dr_snapshot_id = self._dr_copy(snapshot, dr_key, in_dr)

        # --- Scheduled backups -----------------------------------------------------------------------------------
        self._backup_policy(dr_key)

        self.register_outputs({
            "instanceId": self.instance_id,
            "publicIp": self.public_ip,
            "publicDns": self.public_dns,
            "sshCommand": self.ssh_command,
            "ssmCommand": self.ssm_command,
            "dataVolumeId": self.data_volume_id,
            "snapshotId": self.snapshot_id,
            "restoredVolumeId": self.restored_volume_id,
            "drSnapshotId": self.dr_snapshot_id,
        })

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-server-{role}")

    @property
    def _backup_tag_value(self) -> str:
        return f"{self._args.context.name_prefix}-server-data"

    def _security_group(self) -> aws.ec2.SecurityGroup:
        settings = self._args.settings
        return aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            vpc_id=self._args.vpc_id,
            description="The web server: HTTP from the configured sources, SSH only from listed addresses",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                description=rule.description, protocol="tcp", from_port=rule.port, to_port=rule.port,
                cidr_blocks=rule.ipv4 or None, ipv6_cidr_blocks=rule.ipv6 or None,
            ) for rule in ingress_rules(settings, self._args.vpc_cidr)],
            egress=[aws.ec2.SecurityGroupEgressArgs(
                description=rule.description, protocol="tcp", from_port=rule.port, to_port=rule.port,
                cidr_blocks=rule.ipv4 or None, ipv6_cidr_blocks=rule.ipv6 or None,
            ) for rule in egress_rules()],
            tags=self._tags("sg"),
            opts=self._child,
        )

    def _key_pair(self) -> aws.ec2.KeyPair | None:
        public_key = self._args.settings.ssh_public_key
        if not public_key:
            return None
        return aws.ec2.KeyPair(f"{self._name}-key", public_key=public_key, tags=self._tags("key"), opts=self._child)

    def _instance_profile(self) -> aws.iam.InstanceProfile:
        ctx = self._args.context
        role = aws.iam.Role(
            f"{self._name}-role",
            path=ctx.iam_path,
            description="The web server: Session Manager access only",
            assume_role_policy=to_json(instance_trust_policy()),
            tags=self._tags("role"),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-session-manager",
            role=role.id,
            policy=to_json(session_manager_policy(ctx.partition, ctx.region, ctx.account_id)),
            opts=self._child,
        )
        operations = self._args.operations
        self._waits_for = list(operations.depends_on) if operations else []
        if operations:
            self._waits_for.append(aws.iam.RolePolicy(f"{self._name}-operations", role=role.id,
                                                      policy=operations.policy, opts=self._child))
        return aws.iam.InstanceProfile(f"{self._name}-profile", role=role.name, path=ctx.iam_path,
                                       tags=self._tags("profile"),
                                       opts=self._child)

    def _instance(self, security_group: aws.ec2.SecurityGroup, key_pair: aws.ec2.KeyPair | None,
                  profile: aws.iam.InstanceProfile) -> aws.ec2.Instance:
        settings, ctx, args = self._args.settings, self._args.context, self._args
        ami: pulumi.Input[str] = settings.ami_id
        ignore = []
        if not settings.ami_id:
            ami = aws.ssm.get_parameter(name=ami_parameter(settings.architecture)).value
            ignore = ["ami"]
        subnets = args.public_subnet_ids if settings.public else args.private_subnet_ids
        service_env = {"PORT": str(SERVICE_PORT), "SERVICE_NAME": "web", "ENVIRONMENT": ctx.environment,
                       "GREETING": f"Hello from the {ctx.project} {ctx.stack} server"}
        return aws.ec2.Instance(
            f"{self._name}-instance",
            ami=ami,
            instance_type=settings.instance_type,
            subnet_id=subnets[0],
            associate_public_ip_address=settings.public,
            vpc_security_group_ids=[security_group.id],
            key_name=key_pair.id if key_pair else None,  # an EC2 key pair's resource ID is its name
            iam_instance_profile=profile.name,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3", encrypted=True, kms_key_id=args.key_arn, delete_on_termination=True,
                tags=self._tags("root"),
            ),
            monitoring=settings.detailed_monitoring,
            ebs_optimized=True,
            user_data=render_user_data(service_env, agent_config_parameter=(
                args.operations.agent_config_parameter if args.operations else "")),
            user_data_replace_on_change=True,
            tags=self._tags("instance"),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignore, depends_on=self._waits_for),
        )

    def _data_volume(self) -> aws.ebs.Volume:
        settings, args = self._args.settings, self._args
        return aws.ebs.Volume(
            f"{self._name}-data",
            availability_zone=self.availability_zone,
            size=settings.data_volume_size,
            type=settings.data_volume_type,
            iops=settings.data_volume_iops or None,
            throughput=settings.data_volume_throughput or None,
            encrypted=True,
            kms_key_id=args.key_arn,
            final_snapshot=self._protected,
            tags={**self._tags("data"), BACKUP_TAG: self._backup_tag_value},
            opts=self._stateful,
        )

    def _dr_key(self, in_dr: pulumi.ResourceOptions) -> aws.kms.Key:
        """A key in the DR region: a snapshot copied across regions must be encrypted with a key of its new region."""
        ctx, region = self._args.context, self._args.settings.dr_region
        return aws.kms.Key(
            f"{self._name}-dr-key",
            description=f"{ctx.project} {ctx.stack}: copies of the server's snapshots in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=to_json(account_key_policy(ctx.partition, ctx.account_id)),
            tags=self._tags("dr-key"),
            opts=in_dr,
        )

    def _dr_copy(self, snapshot: aws.ebs.Snapshot, dr_key: aws.kms.Key,
                 in_dr: pulumi.ResourceOptions) -> pulumi.Output[str]:
        ctx, region = self._args.context, self._args.settings.dr_region
        copy = aws.ebs.SnapshotCopy(
            f"{self._name}-dr-snapshot",
            source_snapshot_id=snapshot.id,
            source_region=ctx.region,
            encrypted=True,
            kms_key_id=dr_key.arn,
            description=f"{ctx.name_prefix} server data volume: copy in {region} for disaster recovery",
            tags=self._tags("dr-snapshot"),
            opts=pulumi.ResourceOptions.merge(self._stateful, in_dr),
        )
        return copy.id

    def _backup_policy(self, dr_key: aws.kms.Key | None) -> None:
        settings, ctx = self._args.settings, self._args.context
        regions = [ctx.region] + ([settings.dr_region] if dr_key else [])
        key_arns = [self._args.key_arn] + ([dr_key.arn] if dr_key else [])
        role = aws.iam.Role(
            f"{self._name}-backup-role",
            path=ctx.iam_path,
            description="Data Lifecycle Manager: snapshots of the server's data volume",
            assume_role_policy=to_json(dlm_trust_policy()),
            tags=self._tags("backup-role"),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-backup-snapshots",
            role=role.id,
            policy=pulumi.Output.all(*key_arns).apply(lambda arns: to_json(backup_role_policy(
                ctx.partition, ctx.account_id, regions, self._backup_tag_value, list(arns)))),
            opts=self._child,
        )
        copy_rules = None
        if dr_key:
            interval, unit = copy_retention(settings.backup_schedule, settings.backup_retention)
            copy_rules = [aws.dlm.LifecyclePolicyPolicyDetailsScheduleCrossRegionCopyRuleArgs(
                target=settings.dr_region, encrypted=True, cmk_arn=dr_key.arn, copy_tags=True,
                retain_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleCrossRegionCopyRuleRetainRuleArgs(
                    interval=interval, interval_unit=unit),
            )]
        aws.dlm.LifecyclePolicy(
            f"{self._name}-backups",
            # DLM allows only letters, digits, spaces, '_' and '-' in descriptions and schedule names.
            description=f"{ctx.name_prefix} server data volume {settings.backup_schedule} snapshots",
            execution_role_arn=role.arn,
            state="ENABLED",
            policy_details=aws.dlm.LifecyclePolicyPolicyDetailsArgs(
                policy_type="EBS_SNAPSHOT_MANAGEMENT",
                resource_types=["VOLUME"],
                target_tags={BACKUP_TAG: self._backup_tag_value},
                schedules=[aws.dlm.LifecyclePolicyPolicyDetailsScheduleArgs(
                    name=f"{settings.backup_schedule} snapshots {settings.backup_retention} kept",
                    create_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs(
                        **backup_create_rule(settings.backup_schedule, settings.backup_time)),
                    retain_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs(
                        count=settings.backup_retention),
                    copy_tags=True,  # the backup tag among them, which lets the role delete expired snapshots
                    cross_region_copy_rules=copy_rules,
                )],
            ),
            tags=self._tags("backups"),
            opts=self._child,
        )
