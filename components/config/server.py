"""The ``server`` section: the EC2 web server with its encrypted data volume, snapshot, restore and backups.

Single values are checked by their field; a field that depends on an earlier one (IOPS on the volume type
and size, SSH CIDRs on the prefix limit) reads it from ``info.data``, so fields are declared in that order.
Rules that need the region's AZs or the stack's region are ``server_zone_problems`` and
``server_stack_problems``, registered in stack.py.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator

from .aws_catalog import instance_type_problem, region_problem
from .base import _MISSING, Problem, Section, allowed_of, full_key, setting

_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*\d[a-z0-9-]*)\.[a-z0-9-]+$")
_FAMILY = re.compile(r"^(?P<series>[a-z]+)(?P<generation>\d+)(?P<options>[a-z-]*)$")
_AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
_AZ = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# AWS's recommended device names for EBS data volumes on Linux (the root device is /dev/xvda or /dev/sda1).
_DEVICE_NAME = re.compile(r"^/dev/(sd|xvd)[f-p]$")
_PUBLIC_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
# PEM and OpenSSH headers, PuTTY's, and the start of an OpenSSH private key's body pasted without its header.
_PRIVATE_KEY_MARKERS = ("PRIVATE KEY", "PuTTY-User-Key-File", "b3BlbnNzaC1rZXktdjE")
PRIVATE_KEY_PLACEHOLDER = "(private key material, not shown)"


@dataclass(frozen=True)
class VolumeLimits:
    """What EC2 CreateVolume accepts for one volume type."""

    min_size: int
    max_size: int
    iops: tuple[int, int] | None = None  # provisioned IOPS range, None when the type has none
    iops_per_gib: int | None = None
    throughput: tuple[int, int] | None = None  # MiB/s, gp3 only


# EBS volume types (EC2 CreateVolume, EBS user guide "Amazon EBS volume types"). gp3 has since gained higher
# ceilings in some regions; these are the limits documented for every region.
VOLUME_LIMITS = {
    "gp3": VolumeLimits(1, 16384, iops=(3000, 16000), iops_per_gib=500, throughput=(125, 1000)),
    "gp2": VolumeLimits(1, 16384),
    "io1": VolumeLimits(4, 16384, iops=(100, 64000), iops_per_gib=50),
    "io2": VolumeLimits(4, 65536, iops=(100, 256000), iops_per_gib=1000),
    "st1": VolumeLimits(125, 16384),
    "sc1": VolumeLimits(125, 16384),
    "standard": VolumeLimits(1, 1024),
}
# gp3 delivers at most 0.25 MiB/s of throughput per provisioned IOPS.
GP3_MIB_PER_IOPS = 0.25
VolumeType = Literal["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"]

BackupSchedule = Literal["every-12-hours", "daily", "weekly"]
MAX_BACKUP_RETENTION = 1000  # DLM keeps at most 1000 snapshots per schedule

DEFAULT_SSH_MIN_PREFIX = 24
# IPv6 sources may be this many bits broader than IPv4 ones: a /24 limit allows an IPv6 /56, one site's allocation.
IPV6_EXTRA_PREFIX = 32


def _key(field: str) -> str:
    return full_key("server", field)


def architecture_of(instance_type: str) -> Literal["arm64", "x86_64"]:
    """The CPU architecture of an instance type: Graviton families carry a ``g`` after their generation
    (t4g, m7g, c6gn, r8gd, im4gn, is4gen), and a1 is the first Graviton; every other family is x86_64."""
    match = _INSTANCE_TYPE.match(instance_type)
    family = _FAMILY.match(match["family"]) if match else None
    if family is None:
        return "x86_64"
    if family["series"] == "a" and family["generation"] == "1":
        return "arm64"
    return "arm64" if "g" in family["options"] else "x86_64"


def ssh_cidr_problem(cidr: str, min_prefix: int) -> str | None:
    """Why ``cidr`` may not reach port 22, or None when it is a host or a range at least as narrow as allowed."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        return f"{cidr} is not a network in CIDR notation ({error})"
    if network.prefixlen == 0:
        return f"{cidr} is the whole internet"
    limit = min_prefix if network.version == 4 else min(min_prefix + IPV6_EXTRA_PREFIX, 128)
    if network.prefixlen < limit:
        return f"{cidr} is broader than /{limit}"
    return None


def public_key_problem(key: str) -> str | None:
    """Why ``key`` is not one OpenSSH public key line (type, base64 blob naming the same type, comment)."""
    parts = key.strip().split()
    if len(parts) < 2 or parts[0] not in _PUBLIC_KEY_TYPES:
        return "not an OpenSSH public key line"
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "the key's base64 part is malformed"
    length = int.from_bytes(blob[:4], "big")
    if blob[4:4 + length] != parts[0].encode():
        return f"the key's data is not an {parts[0]} key"
    return None


def looks_like_private_key(value: str) -> bool:
    return any(marker in value for marker in _PRIVATE_KEY_MARKERS)


class ServerSettings(Section):
    enabled: bool = setting(
        False, "Create the EC2 web server with its encrypted data volume, snapshot, restore and backups.",
        "true | false",
    )
    # --- instance ---
    instance_type: str = setting(
        "t4g.micro", "Instance type; its family picks the AMI's architecture (Graviton families run arm64).",
        "an EC2 instance type such as t4g.micro or t3.micro",
    )
    ami_id: str = setting(
        "", "AMI of the server; unset takes the latest Amazon Linux 2023 AMI from AWS's public SSM parameter.",
        "empty, or ami- followed by 8 or 17 lowercase hex digits",
    )
    public: bool = setting(
        False, "Place the server in a public subnet with a public IP; otherwise in a private subnet.", "true | false",
    )
    detailed_monitoring: bool = setting(
        True, "Send the instance's CloudWatch metrics every minute instead of every five.", "true | false",
    )
    # --- access ---
    http_cidrs: tuple[str, ...] = setting(
        (), "Source ranges allowed to reach port 80 (and 443 with httpsPort); empty allows the VPC only.",
        "a list of IPv4 or IPv6 networks in CIDR notation (0.0.0.0/0 for everyone)",
    )
    https_port: bool = setting(False, "Also open port 443 to httpCidrs.", "true | false")
    ssh_min_prefix: int = setting(
        DEFAULT_SSH_MIN_PREFIX,
        "Broadest IPv4 prefix that sshCidrs may list; IPv6 ranges may be 32 bits broader (a /24 limit allows /56).",
        "an integer from 8 to 32", ge=8, le=32,
    )
    ssh_cidrs: tuple[str, ...] = setting(
        (), "Source ranges allowed to reach SSH on port 22; empty opens no port (use SSM Session Manager).",
        "a list of hosts or narrow networks in CIDR notation, each at least as narrow as /sshMinPrefix; "
        "never 0.0.0.0/0 or ::/0",
    )
    ssh_public_key: str = setting(
        "", "OpenSSH public key (the .pub file's line) for a key pair that can log in as ec2-user.",
        "empty, or one line: ssh-ed25519 | ssh-rsa | ecdsa-sha2-nistp256/384/521, base64 key, optional comment; "
        "never a private key",
    )
    # --- data volume ---
    data_volume_type: VolumeType = setting(
        "gp3", "EBS type of the data volume.", " | ".join(VOLUME_LIMITS),
    )
    data_volume_size: int = setting(
        10, "Size of the data volume in GiB.",
        "an integer within the type's range: " + ", ".join(
            f"{name} {limit.min_size}-{limit.max_size}" for name, limit in VOLUME_LIMITS.items()),
    )
    data_volume_iops: int = setting(
        0, "Provisioned IOPS of the data volume; 0 takes the type's baseline (3000 for gp3).",
        "0, or for gp3 3000-16000 (at most 500 per GiB), io1 100-64000 (50 per GiB), io2 100-256000 "
        "(1000 per GiB); required for io1 and io2; not for other types",
    )
    data_volume_throughput: int = setting(
        0, "Provisioned throughput of a gp3 data volume in MiB/s; 0 takes the baseline of 125.",
        "0, or for gp3 only 125-1000, at most IOPS / 4",
    )
    device_name: str = setting(
        "/dev/sdf", "Device name the data volume is attached at.", "/dev/sdf to /dev/sdp or /dev/xvdf to /dev/xvdp",
    )
    # --- snapshots, restore and backups ---
    restore_az: str = setting(
        "", "AZ where the data volume's snapshot is restored as a new volume; empty takes the Network's next AZ.",
        "empty, or one of the stack's AZs other than the server's (the first)",
    )
    dr_region: str = setting(
        "", "Region that receives an encrypted copy of the snapshot and of every scheduled backup; empty for none.",
        "empty, or a region name other than the stack's, such as eu-central-1",
    )
    backup_schedule: BackupSchedule = setting(
        "daily", "How often Data Lifecycle Manager snapshots the data volume.", "every-12-hours | daily | weekly",
    )
    backup_time: str = setting(
        "03:00", "UTC time of day at which a scheduled snapshot starts (weekly: on Sundays).", "HH:MM, 24-hour, UTC",
    )
    backup_retention: int = setting(
        7, "Scheduled snapshots kept (older ones are deleted), here and in drRegion.",
        f"an integer from 1 to {MAX_BACKUP_RETENTION}", ge=1, le=MAX_BACKUP_RETENTION,
    )
    protect: Literal["auto", "true", "false"] = setting(
        "auto", "Protect the data volume and snapshots from deletion (Pulumi protect and retainOnDelete).",
        "auto | true | false; auto is true in prod and false elsewhere",
    )

    def protected(self, is_prod: bool) -> bool:
        return is_prod if self.protect == "auto" else self.protect == "true"

    @property
    def architecture(self) -> Literal["arm64", "x86_64"]:
        return architecture_of(self.instance_type)

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("ami_id")
    @classmethod
    def _ami_id(cls, value: str) -> str:
        if value and not _AMI_ID.match(value):
            raise ValueError("not an AMI ID")
        return value

    @field_validator("http_cidrs")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as error:
                raise ValueError(f"{cidr} is not a network in CIDR notation ({error})") from None
        return value

    @field_validator("ssh_cidrs")
    @classmethod
    def _narrow_ssh_sources(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        min_prefix = info.data.get("ssh_min_prefix", DEFAULT_SSH_MIN_PREFIX)
        problems = [p for p in (ssh_cidr_problem(cidr, min_prefix) for cidr in value) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("ssh_public_key", mode="before")
    @classmethod
    def _public_key(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        # A refusal here would print the value in the error; server_stack_problems reports it without it.
        if looks_like_private_key(value):
            return PRIVATE_KEY_PLACEHOLDER
        problem = public_key_problem(value)
        if problem:
            raise ValueError(problem)
        return value.strip()

    @field_validator("data_volume_size")
    @classmethod
    def _size_for_type(cls, value: int, info: ValidationInfo) -> int:
        limits = VOLUME_LIMITS.get(info.data.get("data_volume_type", ""))
        if limits and not limits.min_size <= value <= limits.max_size:
            raise ValueError(f"{info.data['data_volume_type']} volumes are {limits.min_size} to "
                             f"{limits.max_size} GiB")
        return value

    @field_validator("data_volume_iops")
    @classmethod
    def _iops_for_type(cls, value: int, info: ValidationInfo) -> int:
        volume_type = info.data.get("data_volume_type")
        limits = VOLUME_LIMITS.get(volume_type or "")
        if limits is None:  # the type itself is invalid, and already reported
            return value
        if limits.iops is None:
            if value:
                raise ValueError(f"{volume_type} volumes take no provisioned IOPS")
            return value
        if not value:  # io1 and io2 need it: see server_stack_problems, as an unset value is not validated
            return value
        low, high = limits.iops
        if not low <= value <= high:
            raise ValueError(f"{volume_type} volumes take {low} to {high} IOPS")
        size = info.data.get("data_volume_size")
        if size is not None and limits.iops_per_gib and value > size * limits.iops_per_gib and value > low:
            raise ValueError(f"{volume_type} allows at most {limits.iops_per_gib} IOPS per GiB: "
                             f"{size * limits.iops_per_gib} for {size} GiB")
        return value

    @field_validator("data_volume_throughput")
    @classmethod
    def _throughput_for_gp3(cls, value: int, info: ValidationInfo) -> int:
        volume_type = info.data.get("data_volume_type")
        limits = VOLUME_LIMITS.get(volume_type or "")
        if not value or limits is None:
            return value
        if limits.throughput is None:
            raise ValueError(f"{volume_type} volumes take no provisioned throughput")
        low, high = limits.throughput
        if not low <= value <= high:
            raise ValueError(f"{volume_type} volumes take {low} to {high} MiB/s")
        iops = info.data.get("data_volume_iops") or limits.iops[0]  # type: ignore[index]
        if value > iops * GP3_MIB_PER_IOPS:
            raise ValueError(f"at {iops} IOPS a gp3 volume allows at most {int(iops * GP3_MIB_PER_IOPS)} MiB/s")
        return value

    @field_validator("device_name")
    @classmethod
    def _device_name(cls, value: str) -> str:
        if not _DEVICE_NAME.match(value):
            raise ValueError("not a device name EC2 recommends for an EBS data volume on Linux")
        return value

    @field_validator("restore_az")
    @classmethod
    def _az_name(cls, value: str) -> str:
        if value and not _AZ.match(value):
            raise ValueError("not an availability zone name")
        return value

    @field_validator("dr_region")
    @classmethod
    def _region_name(cls, value: str) -> str:
        problem = region_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("backup_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("not a 24-hour HH:MM time")
        return value


def server_zone_problems(config: Any, zones: list[str]) -> Iterable[Problem]:
    """restoreAz must be one of the Network's AZs and not the server's own (the Network's first)."""
    server = config.server
    if not server.enabled or not server.restore_az:
        return
    network_zones = zones[: config.network.az_count]
    if server.restore_az not in network_zones:
        yield Problem(_key("restoreAz"), server.restore_az,
                      f"not one of the stack's AZs; allowed: one of {', '.join(network_zones[1:])}")
    elif server.restore_az == network_zones[0]:
        yield Problem(_key("restoreAz"), server.restore_az,
                      f"the server's own AZ; a restore there does not survive the AZ's loss; allowed: one of "
                      f"{', '.join(network_zones[1:])}")


def server_stack_problems(config: Any) -> Iterable[Problem]:
    """Rules that need the stack's region or a field left unset, and the private key refusal that must not
    print the key."""
    server = config.server
    if server.data_volume_type in ("io1", "io2") and not server.data_volume_iops:
        yield Problem(_key("dataVolumeIops"), _MISSING, f"{server.data_volume_type} volumes need provisioned IOPS; "
                      f"allowed: {allowed_of(ServerSettings, 'dataVolumeIops')}")
    if server.ssh_public_key == PRIVATE_KEY_PLACEHOLDER:
        yield Problem(_key("sshPublicKey"), PRIVATE_KEY_PLACEHOLDER,
                      "this is a private key: never put it in config or state; allowed: the public key, the "
                      "one line of the .pub file (ssh-ed25519 AAAA... comment)")
    if server.dr_region and server.dr_region == config.region:
        yield Problem(_key("drRegion"), server.dr_region,
                      f"the stack's own region; a copy there does not survive the region's loss; allowed: a region "
                      f"other than {config.region}")
