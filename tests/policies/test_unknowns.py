"""During a preview, a finding that an unknown value decides is advisory: it never blocks the preview,
and the update, which sees the real values, applies the policy's own level."""

from __future__ import annotations

from pulumi.runtime.proto import analyzer_pb2

from policies.rules.base import UNKNOWN_SENTINELS, Unverifiable, unverifiable

from .pack_client import as_recorded

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
assert UNKNOWN_STRING in UNKNOWN_SENTINELS
SSH = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "description": "ssh"}


def security_group(*cidrs: str):
    return as_recorded("aws:ec2/securityGroup:SecurityGroup",
                       {"description": "admin", "ingress": [{**SSH, "cidrBlocks": list(cidrs)}]}, "admin")


def ssh_findings(pack, resource):
    return [f for f in pack.analyze([resource], stack=False) if f.policy == "no-world-ssh"]


def test_an_unverifiable_message_is_marked_as_such():
    assert isinstance(unverifiable("ingress[0].cidrBlocks[0]"), Unverifiable)


def test_an_unknown_source_of_ssh_is_an_advisory_note_in_a_mandatory_policy(pack):
    [finding] = ssh_findings(pack, security_group(UNKNOWN_STRING))
    assert finding.level == analyzer_pb2.ADVISORY
    assert "cannot be verified during preview" in finding.message


def test_a_certain_violation_beside_an_unknown_stays_mandatory(pack):
    findings = ssh_findings(pack, security_group("0.0.0.0/0", UNKNOWN_STRING))
    levels = sorted((f.level, "0.0.0.0/0" in f.message) for f in findings)
    assert levels == sorted([(analyzer_pb2.MANDATORY, True), (analyzer_pb2.ADVISORY, False)])


def test_a_known_narrow_source_reports_nothing(pack):
    assert ssh_findings(pack, security_group("203.0.113.10/32")) == []
