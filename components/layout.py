"""Subnet CIDR layout: where each AZ's subnets sit inside the VPC range.

Every AZ owns fixed slots computed from its index alone, so raising ``azCount`` adds subnets and
never renumbers an existing one. The VPC range is cut into eight blocks:

    blocks 0-5   one private subnet per AZ (prefix + 3: a /16 VPC gives /19, 8,187 usable hosts)
    block 6      cut again into eight public subnets (prefix + 6: a /16 VPC gives /22)
    block 7      reserved for later tiers (isolated, database)

Public subnets are small because only load balancers, NAT gateways and the odd public server live there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

PRIVATE_BLOCK_BITS = 3
PUBLIC_BLOCK_INDEX = 6
PUBLIC_SUBNET_BITS = 6
MAX_AZS = 6


@dataclass(frozen=True)
class SubnetPlan:
    tier: str  # "public" | "private"
    az_index: int
    cidr: str


def private_subnet_cidr(vpc_cidr: str, az_index: int) -> str:
    _check_index(az_index)
    vpc = ipaddress.IPv4Network(vpc_cidr)
    return str(list(vpc.subnets(prefixlen_diff=PRIVATE_BLOCK_BITS))[az_index])


def public_subnet_cidr(vpc_cidr: str, az_index: int) -> str:
    _check_index(az_index)
    vpc = ipaddress.IPv4Network(vpc_cidr)
    public_block = list(vpc.subnets(prefixlen_diff=PRIVATE_BLOCK_BITS))[PUBLIC_BLOCK_INDEX]
    return str(list(public_block.subnets(prefixlen_diff=PUBLIC_SUBNET_BITS - PRIVATE_BLOCK_BITS))[az_index])


def plan_subnets(vpc_cidr: str, az_count: int) -> list[SubnetPlan]:
    """The public and private subnet of each of the first ``az_count`` AZs, public first."""
    return [
        SubnetPlan(tier, index, cidr(vpc_cidr, index))
        for tier, cidr in (("public", public_subnet_cidr), ("private", private_subnet_cidr))
        for index in range(az_count)
    ]


def nat_gateway_count(strategy: str, az_count: int) -> int:
    return {"none": 0, "single": 1, "per-az": az_count}[strategy]


def nat_index_for_az(strategy: str, az_index: int) -> int | None:
    """Which NAT gateway a private subnet's default route uses, or None when there is none."""
    return {"none": None, "single": 0, "per-az": az_index}[strategy]


def _check_index(az_index: int) -> None:
    if not 0 <= az_index < MAX_AZS:
        raise ValueError(f"az_index must be 0 to {MAX_AZS - 1}, got {az_index}")
