"""SSH and RDP only from narrow sources: the pack's side of server.sshCidrs' config-time check."""

from __future__ import annotations

from policies.rules import Resource, rule_named

from .pack_client import as_recorded

RULE = rule_named("admin-ports-from-narrow-sources")


def group(cidr: str, port: int = 22, protocol: str = "tcp") -> Resource:
    key = "ipv6CidrBlocks" if ":" in cidr else "cidrBlocks"
    return Resource("aws:ec2/securityGroup:SecurityGroup",
                    {"ingress": [{"protocol": protocol, "fromPort": port, "toPort": port, key: [cidr]}]}, "admin")


def test_ssh_from_one_host_passes():
    assert RULE.evaluate(group("203.0.113.10/32")) == []


def test_ssh_from_a_slash_16_is_refused_as_too_broad():
    [message] = RULE.evaluate(group("10.20.0.0/16"))
    assert "ingress[0].cidrBlocks[0] = 10.20.0.0/16 admits SSH (tcp 22)" in message and "broader than /24" in message


def test_rdp_from_a_broad_ipv6_range_is_refused():
    [message] = RULE.evaluate(group("2001:db8::/32", port=3389))
    assert "RDP" in message and "broader than /56" in message


def test_all_protocols_from_a_broad_range_cover_ssh_and_rdp():
    assert len(RULE.evaluate(group("10.0.0.0/8", port=0, protocol="-1"))) == 2


def test_the_world_is_left_to_no_world_ssh():
    assert RULE.evaluate(group("0.0.0.0/0")) == []


def test_a_narrow_source_outside_the_allowed_sources_is_refused():
    config = {"allowedSourceCidrs": ["203.0.113.0/24"]}
    assert RULE.evaluate(group("203.0.113.10/32"), config) == []
    [message] = RULE.evaluate(group("198.51.100.7/32"), config)
    assert "outside the allowed sources" in message


def test_the_minimum_prefix_is_configurable():
    assert RULE.evaluate(group("10.20.0.0/16"), {"minimumIpv4Prefix": 16}) == []


def test_the_pack_refuses_ssh_from_a_broad_range(pack):
    findings = pack.analyze([as_recorded("aws:ec2/securityGroup:SecurityGroup", dict(group("10.0.0.0/8").props))])
    assert [f.policy for f in findings if f.policy == RULE.name] == [RULE.name]
