"""The ``network`` section: the VPC's address space, AZs, NAT strategy, flow logs and endpoints."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import field_validator

from .base import LOG_RETENTION_ALLOWED, LogRetentionDays, Section, setting

INTERFACE_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages", "ecr.api", "ecr.dkr", "logs", "sts",
                       "secretsmanager", "kms", "monitoring")

PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                          "100.64.0.0/10"))

MIN_VPC_PREFIX, MAX_VPC_PREFIX = 16, 22
MAX_AZS = 6

NatStrategy = Literal["none", "single", "per-az"]
InterfaceEndpoint = Literal["ssm", "ssmmessages", "ec2messages", "ecr.api", "ecr.dkr", "logs", "sts",
                            "secretsmanager", "kms", "monitoring"]


class NetworkSettings(Section):
    cidr: str = setting(
        "10.0.0.0/16",
        "IPv4 address range of the VPC; subnets are carved from it.",
        f"a private IPv4 CIDR (10/8, 172.16/12, 192.168/16, 100.64/10) with a prefix from "
        f"/{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}",
    )
    az_count: int = setting(
        2, "Number of availability zones, each with one public and one private subnet.",
        f"an integer from 2 to {MAX_AZS}", ge=2, le=MAX_AZS,
    )
    nat_gateways: NatStrategy = setting(
        "single", "Outbound internet for private subnets: no NAT, one shared NAT gateway, or one per AZ.",
        "none | single | per-az",
    )
    flow_logs: bool = setting(True, "Send VPC flow logs to an encrypted CloudWatch log group.", "true | false")
    flow_log_retention_days: LogRetentionDays = setting(
        365, "Days that flow log records are kept.",
        LOG_RETENTION_ALLOWED,
    )
    flow_log_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = setting(
        "ALL", "Which traffic the flow logs record.", "ALL | ACCEPT | REJECT",
    )
    interface_endpoints: tuple[InterfaceEndpoint, ...] = setting(
        (), "AWS services reached from private subnets through interface endpoints instead of NAT.",
        "a list, without repeats, of: " + ", ".join(INTERFACE_ENDPOINTS),
    )

    @field_validator("cidr")
    @classmethod
    def _private_cidr_of_usable_size(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"not an IPv4 network in CIDR notation ({error})") from None
        if not any(network.subnet_of(r) for r in PRIVATE_RANGES):
            raise ValueError("not inside a private address range")
        if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
            raise ValueError(f"prefix /{network.prefixlen} leaves subnets of the wrong size")
        return value

    @field_validator("interface_endpoints")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return value
