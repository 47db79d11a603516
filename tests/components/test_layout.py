"""Subnet layout: fixed slots per AZ, so growing the AZ count never renumbers a subnet."""

from __future__ import annotations

import ipaddress

import pytest

from components.layout import nat_gateway_count, nat_index_for_az, plan_subnets, private_subnet_cidr, public_subnet_cidr


def test_a_16_vpc_gives_19_private_and_22_public_subnets():
    assert private_subnet_cidr("10.0.0.0/16", 0) == "10.0.0.0/19"
    assert private_subnet_cidr("10.0.0.0/16", 5) == "10.0.160.0/19"
    assert public_subnet_cidr("10.0.0.0/16", 0) == "10.0.192.0/22"
    assert public_subnet_cidr("10.0.0.0/16", 5) == "10.0.212.0/22"


@pytest.mark.parametrize("vpc", ["10.0.0.0/16", "172.16.0.0/18", "192.168.0.0/20", "10.8.0.0/22"])
def test_every_subnet_lies_inside_the_vpc_and_none_overlap(vpc):
    subnets = [ipaddress.ip_network(p.cidr) for p in plan_subnets(vpc, 6)]
    assert all(s.subnet_of(ipaddress.ip_network(vpc)) for s in subnets)
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])


def test_the_smallest_vpc_still_gives_subnets_aws_accepts():
    assert min(ipaddress.ip_network(p.cidr).prefixlen for p in plan_subnets("10.8.0.0/22", 6)) <= 28
    assert max(ipaddress.ip_network(p.cidr).prefixlen for p in plan_subnets("10.8.0.0/22", 6)) == 28


@pytest.mark.parametrize("smaller", [2, 3, 4, 5])
def test_growing_the_az_count_keeps_every_existing_subnet(smaller):
    before = set(plan_subnets("10.0.0.0/16", smaller))
    after = set(plan_subnets("10.0.0.0/16", smaller + 1))
    assert before < after
    assert len(after - before) == 2


def test_a_seventh_az_is_refused():
    with pytest.raises(ValueError, match="az_index must be 0 to 5"):
        private_subnet_cidr("10.0.0.0/16", 6)


@pytest.mark.parametrize(("strategy", "expected"), [("none", 0), ("single", 1), ("per-az", 3)])
def test_nat_gateway_count_follows_the_strategy(strategy, expected):
    assert nat_gateway_count(strategy, 3) == expected


def test_each_private_subnet_routes_through_its_own_or_the_shared_nat():
    assert [nat_index_for_az("per-az", i) for i in range(3)] == [0, 1, 2]
    assert [nat_index_for_az("single", i) for i in range(3)] == [0, 0, 0]
    assert nat_index_for_az("none", 1) is None
