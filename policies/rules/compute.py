"""Compute policies: EC2 instances, launch templates and configurations, EBS volumes and snapshots.

Catalog section B, rows C1-C21 except C17 (an opinion about data volumes, not a control). C22 (AMI
lookups pin owners) is not here: ``ec2.get_ami`` is an invoke, which a policy pack never sees.

Three resource types launch instances and each spells the same settings differently: launch templates
carry booleans as the strings "true"/"false" and user data as base64. ``is_true`` and
``user_data_texts`` absorb those differences so that each rule states its condition once.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .base import Resource, Stack, as_list, indexed, is_unknown, resource_rule, stack_rule, unverifiable
from .network import referenced

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
LAUNCHERS = (INSTANCE, LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION)
VOLUME = "aws:ebs/volume:Volume"
VOLUME_ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment"
ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
SNAPSHOT_COPY = "aws:ebs/snapshotCopy:SnapshotCopy"
SNAPSHOT_PERMISSION = "aws:ec2/snapshotCreateVolumePermission:SnapshotCreateVolumePermission"
SNAPSHOT_BLOCK_PUBLIC_ACCESS = "aws:ebs/snapshotBlockPublicAccess:SnapshotBlockPublicAccess"
BACKUP_SELECTION = "aws:backup/selection:Selection"
DLM_POLICY = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"

# Current-generation, Nitro-based families; a team lists its own in policy config.
DEFAULT_INSTANCE_TYPES = ["t3.*", "t3a.*", "t4g.*", "m6i.*", "m6g.*", "m7i.*", "m7g.*", "c6i.*", "c6g.*",
                          "c7i.*", "c7g.*", "r6i.*", "r6g.*", "r7i.*", "r7g.*"]


# --- reading inputs -----------------------------------------------------------------------------------


def member(value: Any, key: str) -> Any:
    """``value[key]`` when value is an object; None otherwise (missing, unknown or of another type)."""
    return value.get(key) if isinstance(value, Mapping) else None


def is_true(value: Any) -> bool:
    """Launch templates send booleans as strings; everything else as booleans."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def shown(value: Any) -> str:
    return "not set" if value is None else repr(value)


def require_true(value: Any, path: str) -> Iterator[str]:
    if is_unknown(value):
        yield unverifiable(path)
    elif not is_true(value):
        yield f"{path} = {shown(value)}; allowed: true"


def from_launch_template(resource: Resource) -> bool:
    """An instance launched from a template takes every setting it leaves out from the template,
    which is judged on its own; so a missing setting on such an instance is not a finding."""
    return resource.type == INSTANCE and resource.get("launchTemplate") is not None


def judged_here(resource: Resource, key: str) -> bool:
    """False when an instance leaves ``key`` to its launch template."""
    return resource.get(key) is not None or not from_launch_template(resource)


def block_devices(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each EBS device the resource creates, with its property path: the objects that carry
    ``encrypted`` and ``kmsKeyId``. A missing root device is not yielded (see ``root_device_missing``)."""
    if resource.type == VOLUME:
        yield "", resource.props
    elif resource.type in (INSTANCE, LAUNCH_CONFIGURATION):
        root = resource.get("rootBlockDevice")
        if isinstance(root, Mapping):
            yield "rootBlockDevice", root
        for i, device in indexed(resource.get("ebsBlockDevices")):
            if isinstance(device, Mapping) and not is_true(device.get("noDevice")):
                yield f"ebsBlockDevices[{i}]", device
    elif resource.type == LAUNCH_TEMPLATE:
        for i, mapping in indexed(resource.get("blockDeviceMappings")):
            ebs = member(mapping, "ebs")
            if isinstance(ebs, Mapping):
                yield f"blockDeviceMappings[{i}].ebs", ebs


def root_device_missing(resource: Resource) -> str | None:
    """Why the root volume escapes the resource's own encryption setting, or None when it does not."""
    if resource.type in (INSTANCE, LAUNCH_CONFIGURATION) and resource.get("rootBlockDevice") is None \
            and not from_launch_template(resource):
        return "rootBlockDevice is not set"
    if resource.type == LAUNCH_TEMPLATE and not as_list(resource.get("blockDeviceMappings")):
        return "blockDeviceMappings is not set"
    return None


def joined(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


# --- public addresses and the instance metadata service (C1-C6) ------------------------------------------


@resource_rule(
    name="ec2-no-public-ip",
    description="Ensure instances, launch templates and launch configurations do not assign public IP addresses.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_88", "checkov:CKV_AWS_389", "fsbp:EC2.9", "fsbp:EC2.25", "fsbp:AutoScaling.5",
              "trivy:AVD-AWS-0009", "catalog:C1", "catalog:C2", "catalog:C3"],
    remediation="Launch into a private subnet and set associate_public_ip_address=False (on a launch template: "
                "network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(associate_public_ip_address="
                "'false', ...)]); reach the instances through the load balancer or SSM Session Manager.",
    types=LAUNCHERS,
)
def ec2_no_public_ip(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == LAUNCH_TEMPLATE:
        # Every interface counts, not only the first (Checkov inspects only [0]).
        settings = [(f"networkInterfaces[{i}].associatePublicIpAddress", member(nic, "associatePublicIpAddress"))
                    for i, nic in indexed(resource.get("networkInterfaces"))]
    else:
        settings = [("associatePublicIpAddress", resource.get("associatePublicIpAddress"))]
    for path, value in settings:
        if is_unknown(value):
            yield unverifiable(path)
        elif is_true(value):
            yield f"{path} = {value!r} gives the instance a public address; allowed: false or not set"


@resource_rule(
    name="ec2-imdsv2-required",
    description="Ensure instances, launch templates and launch configurations require IMDSv2 session tokens.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_79", "fsbp:EC2.8", "fsbp:EC2.170", "fsbp:AutoScaling.3", "cis-aws:5.6",
              "trivy:AVD-AWS-0028", "trivy:AVD-AWS-0130", "catalog:C4", "catalog:C5"],
    remediation="Set metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_tokens='required', "
                "http_endpoint='enabled') (LaunchTemplateMetadataOptionsArgs on a launch template).",
    types=LAUNCHERS,
)
def ec2_imdsv2_required(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    options = resource.get("metadataOptions")
    if not judged_here(resource, "metadataOptions"):
        return
    if is_unknown(options):
        yield unverifiable("metadataOptions")
        return
    endpoint, tokens = member(options, "httpEndpoint"), member(options, "httpTokens")
    if endpoint == "disabled":
        return  # no metadata service at all
    if is_unknown(tokens) or is_unknown(endpoint):
        yield unverifiable("metadataOptions.httpTokens")
    elif tokens != "required":
        # The provider's default is "optional": IMDSv1 answers unauthenticated GETs (the SSRF path).
        yield (f"metadataOptions.httpTokens = {shown(tokens)} lets IMDSv1 answer without a session token "
               f"(not set means 'optional'); allowed: 'required', or httpEndpoint 'disabled'")


@resource_rule(
    name="ec2-metadata-hop-limit",
    description="Ensure launch templates and launch configurations keep the metadata response hop limit at 1.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_341", "fsbp:AutoScaling.4", "catalog:C6"],
    remediation="Set metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_put_response_hop_limit=1, "
                "http_tokens='required'); raise it only for containers on EC2 that need the instance role.",
    types=[LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION],
    config={"maximumHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1,
                                "description": "Highest httpPutResponseHopLimit allowed."}},
)
def ec2_metadata_hop_limit(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    options = resource.get("metadataOptions")
    if member(options, "httpEndpoint") == "disabled":
        return
    limit = member(options, "httpPutResponseHopLimit") if not is_unknown(options) else options
    maximum = config["maximumHopLimit"]
    if is_unknown(limit):
        yield unverifiable("metadataOptions.httpPutResponseHopLimit")
    elif limit is None:
        # Left out, the AMI decides: images registered with ImdsSupport v2.0 (e.g. AL2023) default to 2.
        yield (f"metadataOptions.httpPutResponseHopLimit is not set, so the AMI decides (AL2023 images use 2); "
               f"allowed: 1 to {maximum}")
    elif not isinstance(limit, (int, float)) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        yield f"metadataOptions.httpPutResponseHopLimit = {limit!r}; allowed: 1 to {maximum}"


# --- encryption at rest (C7-C10, C12-C14) ----------------------------------------------------------------


@resource_rule(
    name="ebs-encrypted",
    description="Ensure every EBS volume is encrypted: instance root and data devices, launch template and "
                "launch configuration block devices, and standalone volumes.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_8", "checkov:CKV_AWS_3", "fsbp:EC2.3", "fsbp:EC2.181", "trivy:AVD-AWS-0131",
              "trivy:AVD-AWS-0008", "trivy:AVD-AWS-0026", "catalog:C7", "catalog:C8", "catalog:C9",
              "catalog:C10"],
    remediation="Declare every device with encrypted=True and the stack key: root_block_device="
                "aws.ec2.InstanceRootBlockDeviceArgs(encrypted=True, kms_key_id=key.arn); on a launch template "
                "block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name='/dev/xvda', "
                "ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(encrypted='true', kms_key_id=key.arn))].",
    types=[*LAUNCHERS, VOLUME],
)
def ebs_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    missing = root_device_missing(resource)
    if missing:
        yield (f"{missing}: the root volume is copied from the AMI's snapshot and is encrypted only if the "
               f"account turned on EBS encryption by default; allowed: the root device declared with encrypted "
               f"= true")
    for path, device in block_devices(resource):
        yield from require_true(device.get("encrypted"), joined(path, "encrypted"))


def is_customer_managed(key: str) -> bool:
    """An explicit key that is not the AWS-managed ``aws/ebs`` key."""
    return bool(key.strip()) and not key.rstrip().endswith("alias/aws/ebs")


@resource_rule(
    name="ebs-customer-managed-key",
    description="Ensure EBS volumes and snapshot copies are encrypted with a customer-managed KMS key.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_189", "checkov:CKV_AWS_183", "trivy:AVD-AWS-0027", "catalog:C12", "catalog:C14"],
    remediation="Pass the stack's key: kms_key_id=stack_key.key_arn on the volume, each block device and "
                "aws.ebs.SnapshotCopy(encrypted=True, kms_key_id=...).",
    types=[INSTANCE, LAUNCH_TEMPLATE, VOLUME, SNAPSHOT_COPY],
    config={"allowedKmsKeys": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "Key ARNs or ids that may be used; empty allows any "
                                              "customer-managed key."}},
)
def ebs_customer_managed_key(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    allowed = list(config["allowedKmsKeys"])
    devices = [("", resource.props)] if resource.type == SNAPSHOT_COPY else list(block_devices(resource))
    for path, device in devices:
        key, where = device.get("kmsKeyId"), joined(path, "kmsKeyId")
        if is_unknown(key):
            if allowed:
                yield unverifiable(where)  # any stack-made key is customer managed; only a list can exclude it
        elif not isinstance(key, str) or not is_customer_managed(key):
            yield f"{where} = {shown(key)} means the AWS-managed aws/ebs key; allowed: a customer-managed key"
        elif allowed and key not in allowed:
            yield f"{where} = {key!r}; allowed: {', '.join(allowed)}"


@resource_rule(
    name="ebs-encryption-by-default",
    description="Ensure the account's EBS encryption by default is not turned off.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_106", "fsbp:EC2.7", "cis-aws:2.2.1", "catalog:C13"],
    remediation="Set aws.ebs.EncryptionByDefault(enabled=True), or remove the resource.",
    types=[ENCRYPTION_BY_DEFAULT],
)
def ebs_encryption_by_default(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    enabled = resource.get("enabled")
    if enabled is None:
        return  # the provider's default is true
    yield from require_true(enabled, "enabled")


# --- snapshots (C15) ---------------------------------------------------------------------------------------


@resource_rule(
    name="ebs-snapshots-not-public",
    description="Ensure EBS snapshots are shared only with listed accounts and block public access is not off.",
    severity="critical",
    enforcement="mandatory",
    controls=["fsbp:EC2.1", "catalog:C15"],
    remediation="Share a snapshot only with an account in this policy's allowedAccountIds; set "
                "aws.ebs.SnapshotBlockPublicAccess(state='block-all-sharing').",
    types=[SNAPSHOT_PERMISSION, SNAPSHOT_BLOCK_PUBLIC_ACCESS],
    config={
        "allowedAccountIds": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{12}$"},
                              "default": [], "description": "Accounts that snapshots may be shared with."},
        "allowedBlockStates": {"type": "array", "items": {"enum": ["block-all-sharing", "block-new-sharing",
                                                                    "unblocked"]},
                               "default": ["block-all-sharing", "block-new-sharing"],
                               "description": "Accepted states of snapshot block public access."},
    },
)
def ebs_snapshots_not_public(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == SNAPSHOT_PERMISSION:
        account, allowed = resource.get("accountId"), list(config["allowedAccountIds"])
        if is_unknown(account):
            yield unverifiable("accountId")
        elif account not in allowed:
            yield (f"accountId = {shown(account)} may create volumes from the snapshot; allowed: "
                   f"{', '.join(allowed) or 'no account (sharing is off)'}")
    else:
        state, allowed = resource.get("state"), list(config["allowedBlockStates"])
        if is_unknown(state):
            yield unverifiable("state")
        elif state not in allowed:
            yield f"state = {shown(state)}; allowed: {', '.join(allowed)}"


# --- monitoring, EBS optimisation, instance profile, instance types (C18-C20) ---------------------------


@resource_rule(
    name="ec2-detailed-monitoring",
    description="Ensure instances and launch templates turn on detailed (1-minute) CloudWatch monitoring.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_126", "awsguard:ec2-instance-detailed-monitoring-enabled", "catalog:C18"],
    remediation="Set monitoring=True on the instance, or monitoring=aws.ec2.LaunchTemplateMonitoringArgs("
                "enabled=True) on the launch template.",
    types=[INSTANCE, LAUNCH_TEMPLATE],
)
def ec2_detailed_monitoring(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == LAUNCH_TEMPLATE:
        monitoring = resource.get("monitoring")
        if is_unknown(monitoring):
            yield unverifiable("monitoring")
        else:
            yield from require_true(member(monitoring, "enabled"), "monitoring.enabled")
    elif judged_here(resource, "monitoring"):
        yield from require_true(resource.get("monitoring"), "monitoring")


# The instance types on which EBS optimisation is optional and off unless asked for: the table "EBS optimization
# supported" of the EC2 user guide (docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-optimized.html#previous;
# AWS Config's ebs-optimized-instance and cdk-nag's EC2EBSOptimizedInstance judge the same list). Every other
# type is either EBS-optimized by default (every current-generation type, and c4, d2, m4, r4 ...: the setting
# has no effect) or cannot be EBS-optimized at all (t1, t2, m1.small, c3.8xlarge ...). The list is closed:
# types launched since 2017 are all optimized by default. botocore's EC2 model names the instance types but
# carries no capability data (only DescribeInstanceTypes, a live call, does).
EBS_OPTIMIZATION_OPTIONAL = frozenset({
    "c1.xlarge", "c3.xlarge", "c3.2xlarge", "c3.4xlarge", "g2.2xlarge", "i2.xlarge", "i2.2xlarge", "i2.4xlarge",
    "m1.large", "m1.xlarge", "m2.2xlarge", "m2.4xlarge", "m3.xlarge", "m3.2xlarge", "r3.xlarge", "r3.2xlarge",
    "r3.4xlarge",
})


@resource_rule(
    name="ec2-ebs-optimized",
    description="Ensure instances and launch templates of the previous-generation types on which EBS optimization is "
                "optional (c3, i2, m3, r3 ...) turn it on; other types are EBS-optimized by default or cannot be.",
    severity="low",
    enforcement="advisory",
    controls=["catalog:C19"],
    remediation="Set ebs_optimized=True on the instance ('true' on a launch template), or better, move to a "
                "current-generation type, which is EBS-optimized by default at no extra cost.",
    types=[INSTANCE, LAUNCH_TEMPLATE],
)
def ec2_ebs_optimized(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not judged_here(resource, "ebsOptimized") or is_true(resource.get("ebsOptimized")):
        return
    instance_type = resource.get("instanceType")
    if is_unknown(instance_type):
        yield unverifiable("instanceType")
    elif isinstance(instance_type, str) and instance_type.strip().lower() in EBS_OPTIMIZATION_OPTIONAL:
        yield from require_true(resource.get("ebsOptimized"), "ebsOptimized")


@resource_rule(
    name="ec2-instance-profile",
    description="Ensure instances, launch templates and launch configurations attach an IAM instance profile.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_41", "cis-aws:1.18", "catalog:C20"],
    remediation="Create an aws.iam.InstanceProfile for a role with the SSM managed instance core policy and pass "
                "iam_instance_profile=profile.name (LaunchTemplateIamInstanceProfileArgs(arn=profile.arn) on a "
                "launch template), so nothing needs stored credentials.",
    types=LAUNCHERS,
)
def ec2_instance_profile(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    profile = resource.get("iamInstanceProfile")
    if resource.type == LAUNCH_TEMPLATE and isinstance(profile, Mapping):
        profile = profile.get("arn") or profile.get("name")
    if not judged_here(resource, "iamInstanceProfile"):
        return
    if is_unknown(profile):
        return  # an unknown profile is a profile made by this stack
    if not isinstance(profile, str) or not profile.strip():
        yield f"iamInstanceProfile = {shown(profile)}; allowed: an instance profile name or ARN"


def instance_types_of(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.type in LAUNCHERS:
        if resource.get("instanceType") is not None:
            yield "instanceType", resource.get("instanceType")
    elif resource.type == AUTOSCALING_GROUP:
        overrides = member(member(resource.get("mixedInstancesPolicy"), "launchTemplate"), "overrides")
        for i, override in indexed(overrides):
            if member(override, "instanceType") is not None:
                yield (f"mixedInstancesPolicy.launchTemplate.overrides[{i}].instanceType",
                       member(override, "instanceType"))


@resource_rule(
    name="ec2-instance-type-allowed",
    description="Ensure instances, launch templates, launch configurations and Auto Scaling overrides use an "
                "allowed instance type.",
    severity="low",
    enforcement="advisory",
    controls=[],
    remediation="Pick a type that matches allowedInstanceTypes (e.g. t3.micro), or add the family to the policy "
                "config: {\"ec2-instance-type-allowed\": {\"allowedInstanceTypes\": [\"t3.*\", \"m7i.large\"]}}.",
    types=[*LAUNCHERS, AUTOSCALING_GROUP],
    config={"allowedInstanceTypes": {"type": "array", "items": {"type": "string"},
                                     "default": DEFAULT_INSTANCE_TYPES,
                                     "description": "Instance types or glob patterns (t3.*) that may be used."}},
)
def ec2_instance_type_allowed(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    allowed = list(config["allowedInstanceTypes"])
    for path, instance_type in instance_types_of(resource):
        if is_unknown(instance_type):
            yield unverifiable(path)
        elif not isinstance(instance_type, str) or not any(fnmatch.fnmatchcase(instance_type, pattern)
                                                           for pattern in allowed):
            yield f"{path} = {instance_type!r}; allowed: {', '.join(allowed)}"


# --- secrets in user data (C21) ----------------------------------------------------------------------------

MAX_USER_DATA = 1024 * 1024  # EC2 takes 16 KB; a bigger decompressed text is not worth scanning further

SECRET_PATTERNS = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}\b")),
    ("an AWS secret access key",
     re.compile(r"aws_?secret_?(?:access_?)?key[\"']?\s*[=:]\s*[\"']?[A-Za-z0-9/+]{40}", re.IGNORECASE)),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    # name=value, name: value and --name value, where the value is a literal: "$VAR", "$(aws ssm ...)",
    # "{{ template }}" and "<placeholder>" are lookups, not secrets.
    ("a password assignment",
     re.compile(r"(?:(?:password|passwd|secret)[\"']?(?:\s*[=:]\s*|\s+(?=[\"']))"
                r"|--(?:password|passwd|secret)[= ])"
                r"[\"']?(?![\s$\"'{<%]|(?:true|false|null|none|yes|no)\b)[^\s\"']{4,}", re.IGNORECASE)),
)


def decoded(text: str) -> str | None:
    """The text behind base64 (optionally gzip-compressed) user data, or None when it is not base64."""
    compact = "".join(text.split())
    if not compact or len(compact) % 4:
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(MAX_USER_DATA)
        except (OSError, EOFError, zlib.error):
            return None
    return raw.decode("utf-8", errors="replace")


def user_data_texts(resource: Resource) -> Iterator[tuple[str, str]]:
    """(how to describe where, text) for each readable form of the resource's user data. User data that
    is still unknown (rendered from other resources' outputs) is skipped rather than reported: it is
    known, and scanned, when ``pulumi up`` registers the resource."""
    plain_key = None if resource.type == LAUNCH_TEMPLATE else "userData"
    base64_keys = ["userData"] if resource.type == LAUNCH_TEMPLATE else ["userDataBase64"]
    if plain_key and isinstance(resource.get(plain_key), str) and not is_unknown(resource.get(plain_key)):
        text = resource.get(plain_key)
        yield plain_key, text
        # The provider passes user data that is already base64 through unchanged.
        inner = decoded(text)
        if inner is not None:
            yield f"{plain_key} (decoded from base64)", inner
    for key in base64_keys:
        text = resource.get(key)
        if isinstance(text, str) and not is_unknown(text):
            inner = decoded(text)
            yield (f"{key} (decoded from base64)", inner) if inner is not None else (key, text)


def redacted(secret: str) -> str:
    return secret[:4] + "…" if len(secret) > 8 else "…"


@resource_rule(
    name="ec2-no-secrets-in-user-data",
    description="Ensure user data of instances, launch templates and launch configurations holds no credentials: "
                "AWS access keys, private keys or literal passwords, also when base64-encoded or gzip-compressed.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_46", "trivy:AVD-AWS-0029", "trivy:AVD-AWS-0129", "trivy:AVD-AWS-0122",
              "catalog:C21"],
    remediation="Anyone with ec2:DescribeInstanceAttribute reads user data. Store the value in Secrets Manager or "
                "SSM Parameter Store (SecureString) and read it at boot with the instance role, e.g. "
                "DB_PASSWORD=$(aws ssm get-parameter --with-decryption --name /app/db --query Parameter.Value).",
    types=LAUNCHERS,
)
def ec2_no_secrets_in_user_data(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    reported: set[tuple[str, int]] = set()
    for where, text in user_data_texts(resource):
        for number, line in enumerate(text[:MAX_USER_DATA].splitlines(), start=1):
            for what, pattern in SECRET_PATTERNS:
                found = pattern.search(line)
                if found and (what, number) not in reported:
                    reported.add((what, number))
                    yield (f"{where} line {number} holds what looks like {what} ({redacted(found.group(0))}); "
                           f"allowed: no credentials in user data")


# --- relations: attached volumes and backups (C11, C16) ---------------------------------------------------


@stack_rule(
    name="ebs-attached-volumes-encrypted",
    description="Ensure every volume attached to an instance through a VolumeAttachment is encrypted.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_2", "fsbp:EC2.3", "catalog:C11"],
    remediation="Create the volume with aws.ebs.Volume(encrypted=True, kms_key_id=stack_key.key_arn, ...) "
                "before attaching it.",
)
def ebs_attached_volumes_encrypted(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for attachment in stack.of_type(VOLUME_ATTACHMENT):
        volumes = referenced(stack, attachment, "volumeId", VOLUME)
        if not volumes:
            yield attachment, ("volumeId names a volume outside this stack, so whether it is encrypted cannot be "
                               "decided offline; allowed: an encrypted aws:ebs/volume:Volume of this stack")
        for volume in volumes:
            encrypted = volume.get("encrypted")
            if is_unknown(encrypted):
                yield attachment, unverifiable(f"the encrypted flag of volume {volume.name}")
            elif not is_true(encrypted):
                yield attachment, (f"attaches volume {volume.name} whose encrypted = {shown(encrypted)}; allowed: "
                                   f"only encrypted volumes")


def tags_of(resource: Resource) -> dict[str, str]:
    tags = resource.get("tags")
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}


def arn_matches(pattern: str, arn: str) -> bool:
    """AWS Backup resource patterns allow ``*`` wildcards, e.g. arn:aws:ec2:*:*:volume/*."""
    return fnmatch.fnmatchcase(arn, pattern)


def selected_by_backup(selection: Resource, volume: Resource, instances: list[Resource]) -> bool:
    """Whether an AWS Backup selection picks the volume, directly or through the instance it is attached to
    (EC2 backups include attached volumes)."""
    arns = [r.get("arn") for r in (volume, *instances) if isinstance(r.get("arn"), str)]
    urns = set(selection.property_dependencies.get("resources", ()))
    if any(r.urn in urns for r in (volume, *instances)):
        return True
    patterns = [p for p in as_list(selection.get("resources")) if isinstance(p, str) and not is_unknown(p)]
    if any(arn_matches(p, arn) for p in patterns for arn in arns):
        return True
    wanted = [(member(t, "key"), member(t, "value")) for t in as_list(selection.get("selectionTags"))
              if str(member(t, "type")).upper() == "STRINGEQUALS"]
    for condition in as_list(selection.get("conditions")):
        for equal in as_list(member(condition, "stringEquals")):
            key = str(member(equal, "key") or "")
            wanted.append((key.removeprefix("aws:ResourceTag/"), member(equal, "value")))
    tag_sets = [tags_of(r) for r in (volume, *instances)]
    return any(tags.get(key) == value for key, value in wanted for tags in tag_sets if key is not None)


def selected_by_dlm(policy: Resource, volume: Resource, instances: list[Resource]) -> bool:
    """A DLM policy targets resources of its types that carry any one of its target tags."""
    details = policy.get("policyDetails")
    if str(policy.get("state") or "ENABLED").upper() != "ENABLED" or not isinstance(details, Mapping):
        return False
    targets = details.get("targetTags")
    if not isinstance(targets, Mapping):
        return False
    kinds = {str(t).upper() for t in as_list(details.get("resourceTypes"))}
    candidates = ([volume] if "VOLUME" in kinds else []) + (instances if "INSTANCE" in kinds else [])
    return any(tags_of(r).get(k) == v for r in candidates for k, v in targets.items())


def instances_attached_to(stack: Stack, volume: Resource) -> list[Resource]:
    found = []
    for attachment in stack.of_type(VOLUME_ATTACHMENT):
        volumes = referenced(stack, attachment, "volumeId", VOLUME)
        if volume in volumes:
            found.extend(referenced(stack, attachment, "instanceId", INSTANCE))
    return found


@stack_rule(
    name="ebs-volumes-backed-up",
    description="Ensure every EBS volume is picked by an AWS Backup selection or a DLM lifecycle policy, "
                "by ARN, by its tags, or through the instance it is attached to.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_9", "fsbp:EC2.28", "catalog:C16"],
    remediation="Tag the volume (e.g. Backup=daily) and create aws.dlm.LifecyclePolicy(policy_details=... "
                "resource_types=['VOLUME'], target_tags={'Backup': 'daily'}) or aws.backup.Selection(resources="
                "[volume.arn], ...).",
)
def ebs_volumes_backed_up(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    selections, policies = stack.of_type(BACKUP_SELECTION), stack.of_type(DLM_POLICY)
    for volume in stack.of_type(VOLUME):
        instances = instances_attached_to(stack, volume)
        if any(selected_by_backup(s, volume, instances) for s in selections):
            continue
        if any(selected_by_dlm(p, volume, instances) for p in policies):
            continue
        unknown = any(is_unknown(p) for s in selections for p in as_list(s.get("resources")))
        if unknown:
            yield volume, unverifiable("the resources of the stack's backup selections")
        else:
            yield volume, ("no aws:backup/selection:Selection or enabled aws:dlm/lifecyclePolicy:LifecyclePolicy "
                           f"selects this volume (tags {tags_of(volume) or 'none'}); allowed: a backup plan or "
                           f"snapshot policy that targets it")
