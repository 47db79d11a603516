"""The Server component: its planning functions, and what it registers for the dev and prod stacks."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest

from app.userdata import SERVER_SCRIPT
from components.config import load_stack_config
from components.server import (
    BACKUP_TAG,
    ami_parameter,
    backup_create_rule,
    backup_role_policy,
    copy_retention,
    egress_rules,
    ingress_rules,
    restore_zone,
)

INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
SNAPSHOT = "aws:ebs/snapshot:Snapshot"
SNAPSHOT_COPY = "aws:ebs/snapshotCopy:SnapshotCopy"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
KEY_PAIR = "aws:ec2/keyPair:KeyPair"
ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment"
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ops@example"


def server_settings(**values: str):
    raw = {"aws:region": "us-east-1", **{f"aws-compute:server.{k}": v for k, v in values.items()}}
    return load_stack_config(raw, "dev").server


def one(recording, type_token, name=None):
    found = [r for r in recording.of_type(type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def ports(group) -> set[int]:
    return {rule["fromPort"] for rule in group.inputs.get("ingress", [])}


def stack_key_arn(recording) -> str:
    (key,) = [k for k in recording.of_type("aws:kms/key:Key") if k.name == "stack-key"]
    return key.outputs["arn"]


def subnet_zone(recording, subnet_id) -> str:
    (subnet,) = [s for s in recording.of_type("aws:ec2/subnet:Subnet") if s.id == subnet_id]
    return subnet.inputs["availabilityZone"]


# --- planning functions ------------------------------------------------------------------------------------

def test_the_ami_parameter_names_the_architecture():
    assert ami_parameter("arm64") == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    assert ami_parameter("x86_64").endswith("al2023-ami-kernel-default-x86_64")


def test_the_restore_goes_to_the_next_az_and_wraps_round():
    zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert restore_zone(zones, "eu-west-1a") == "eu-west-1b"
    assert restore_zone(zones, "eu-west-1c") == "eu-west-1a"
    assert restore_zone(zones, "eu-west-1a", configured="eu-west-1c") == "eu-west-1c"


def test_without_ssh_cidrs_no_rule_opens_port_22():
    assert [rule.port for rule in ingress_rules(server_settings(), "10.0.0.0/16")] == [80]


def test_ssh_is_open_only_to_the_listed_sources():
    rules = ingress_rules(server_settings(sshCidrs='["203.0.113.7/32", "2001:db8::/64"]'), "10.0.0.0/16")
    (ssh,) = [rule for rule in rules if rule.port == 22]
    assert (ssh.ipv4, ssh.ipv6) == (["203.0.113.7/32"], ["2001:db8::/64"])


def test_http_is_open_to_the_vpc_alone_unless_sources_are_listed():
    (http,) = ingress_rules(server_settings(), "10.0.0.0/16")
    assert http.cidrs == ("10.0.0.0/16",)
    (http,) = ingress_rules(server_settings(httpCidrs='["203.0.113.0/24"]'), "10.0.0.0/16")
    assert http.cidrs == ("203.0.113.0/24",)


def test_https_is_opened_to_the_http_sources_when_asked():
    rules = ingress_rules(server_settings(httpCidrs='["203.0.113.0/24"]', httpsPort="true"), "10.0.0.0/16")
    assert [(rule.port, rule.cidrs) for rule in rules] == [(80, ("203.0.113.0/24",)), (443, ("203.0.113.0/24",))]


def test_egress_is_https_only():
    assert [rule.port for rule in egress_rules()] == [443]


def statement(doc, sid):
    (found,) = [s for s in doc["Statement"] if s["Sid"] == sid]
    return found


def test_backups_snapshot_and_delete_only_what_carries_the_backup_tag():
    doc = backup_role_policy("aws", "123456789012", ["us-east-1"], "tagged", ["arn:aws:kms:us-east-1:1:key/k"])
    for sid in ("SnapshotOnlyTheTaggedVolumes", "DeleteOnlyItsOwnSnapshots"):
        assert statement(doc, sid)["Condition"] == {"StringEquals": {f"aws:ResourceTag/{BACKUP_TAG}": "tagged"}}
    assert not [s for s in doc["Statement"] if "ec2:CopySnapshot" in s["Action"]]


def test_backups_copy_to_the_recovery_region_only_when_there_is_one():
    doc = backup_role_policy("aws", "123456789012", ["eu-west-1", "eu-central-1"], "tagged", ["k1", "k2"])
    assert statement(doc, "CopySnapshotsToTheRecoveryRegion")["Resource"] == [
        "arn:aws:ec2:eu-west-1::snapshot/*", "arn:aws:ec2:eu-central-1::snapshot/*"]
    assert statement(doc, "UseTheVolumeAndCopyKeysThroughEc2")["Resource"] == ["k1", "k2"]
    assert statement(doc, "GrantKeysOnlyToAwsResources")["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_backup_schedules_become_dlm_create_rules():
    assert backup_create_rule("daily", "03:00") == {"interval": 24, "interval_unit": "HOURS", "times": "03:00"}
    assert backup_create_rule("every-12-hours", "01:30")["interval"] == 12
    assert backup_create_rule("weekly", "04:05") == {"cron_expression": "cron(5 4 ? * SUN *)"}


def test_copies_are_kept_as_long_as_the_local_snapshots_cover():
    assert copy_retention("daily", 7) == (1, "WEEKS")
    assert copy_retention("daily", 10) == (10, "DAYS")
    assert copy_retention("every-12-hours", 3) == (2, "DAYS")
    assert copy_retention("weekly", 4) == (4, "WEEKS")


# --- what the stacks register --------------------------------------------------------------------------------

def test_a_disabled_server_creates_nothing(stack_with):
    recording = stack_with("dev", {"aws-compute:server.enabled": "false"})
    assert not [r for r in recording.resources if "server" in r.urn.split("::")[-1]]
    assert not [k for k in recording.outputs if k.startswith("server")]


def test_the_dev_security_group_has_no_ssh_rule(dev_stack):
    assert ports(one(dev_stack, SECURITY_GROUP, "server-sg")) == {80}


def test_ssh_cidrs_open_port_22_to_those_sources_only(stack_with):
    recording = stack_with("dev", {"aws-compute:server.sshCidrs": '["203.0.113.7/32"]'})
    group = one(recording, SECURITY_GROUP, "server-sg")
    (ssh,) = [rule for rule in group.inputs["ingress"] if rule["fromPort"] == 22]
    assert ssh["cidrBlocks"] == ["203.0.113.7/32"] and ssh["toPort"] == 22


def test_every_security_group_rule_has_a_description(prod_stack):
    group = one(prod_stack, SECURITY_GROUP, "server-sg")
    assert all(rule["description"] for rule in group.inputs["ingress"] + group.inputs["egress"])


def test_the_instance_requires_imdsv2_with_a_hop_limit_of_one(dev_stack):
    options = one(dev_stack, INSTANCE).inputs["metadataOptions"]
    assert options["httpTokens"] == "required" and options["httpPutResponseHopLimit"] == 1


def test_every_volume_is_encrypted_with_the_stack_key(prod_stack):
    key_arn = stack_key_arn(prod_stack)
    root = one(prod_stack, INSTANCE).inputs["rootBlockDevice"]
    assert (root["encrypted"], root["kmsKeyId"], root["volumeType"]) == (True, key_arn, "gp3")
    volumes = prod_stack.of_type(VOLUME)
    assert {v.name for v in volumes} == {"server-data", "server-restored-data"}
    assert all(v.inputs["encrypted"] is True and v.inputs["kmsKeyId"] == key_arn for v in volumes)


def test_the_data_volume_is_in_the_instances_az_and_attached_at_the_device_name(dev_stack):
    instance, data = one(dev_stack, INSTANCE), one(dev_stack, VOLUME, "server-data")
    assert data.inputs["availabilityZone"] == subnet_zone(dev_stack, instance.inputs["subnetId"])
    attachment = one(dev_stack, ATTACHMENT)
    assert (attachment.inputs["instanceId"], attachment.inputs["volumeId"]) == (instance.id, data.id)
    assert attachment.inputs["deviceName"] == "/dev/sdf"
    assert attachment.options["deleteBeforeReplace"] is True


def test_the_snapshot_is_restored_in_another_az(dev_stack):
    data, restored = one(dev_stack, VOLUME, "server-data"), one(dev_stack, VOLUME, "server-restored-data")
    snapshot = one(dev_stack, SNAPSHOT)
    assert snapshot.inputs["volumeId"] == data.id and snapshot.inputs["description"]
    assert restored.inputs["snapshotId"] == snapshot.id
    assert (data.inputs["availabilityZone"], restored.inputs["availabilityZone"]) == ("us-east-1a", "us-east-1b")


def test_restore_az_from_config_places_the_restore(stack_with):
    recording = stack_with("prod", {"aws-compute:server.restoreAz": "eu-west-1c"})
    assert one(recording, VOLUME, "server-restored-data").inputs["availabilityZone"] == "eu-west-1c"


def test_the_restore_has_the_performance_of_the_original(stack_with):
    recording = stack_with("dev", {"aws-compute:server.dataVolumeType": "io2",
                                   "aws-compute:server.dataVolumeSize": "100",
                                   "aws-compute:server.dataVolumeIops": "5000"})
    for name in ("server-data", "server-restored-data"):
        volume = one(recording, VOLUME, name)
        assert (volume.inputs["type"], volume.inputs["iops"]) == ("io2", 5000), name


def test_the_backup_policy_targets_the_data_volumes_tag(dev_stack):
    policy = one(dev_stack, DLM)
    targets = policy.inputs["policyDetails"]["targetTags"]
    data = one(dev_stack, VOLUME, "server-data")
    assert targets.items() <= data.inputs["tags"].items()
    assert policy.inputs["state"] == "ENABLED"
    (schedule,) = policy.inputs["policyDetails"]["schedules"]
    assert schedule["retainRule"]["count"] == 3 and schedule["createRule"]["intervalUnit"] == "HOURS"


def test_the_backup_role_is_assumed_by_dlm_alone(dev_stack):
    policy = one(dev_stack, DLM)
    roles = dev_stack.of_type("aws:iam/role:Role")
    (role,) = [r for r in roles if r.outputs["arn"] == policy.inputs["executionRoleArn"]]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "dlm.amazonaws.com"}]


def test_the_backup_role_trusts_dlm_as_aws_documents_it_without_a_source_account_condition(dev_stack):
    # AWS's own AWSDataLifecycleManagerDefaultRole has no condition; DLM is not documented to send aws:SourceAccount.
    (role,) = [r for r in dev_stack.of_type("aws:iam/role:Role") if r.name == "server-backup-role"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement == {"Sid": "AssumedOnlyByDlm", "Effect": "Allow", "Principal": {"Service": "dlm.amazonaws.com"},
                         "Action": "sts:AssumeRole"}


def test_the_dev_server_serves_http_to_the_world_and_opens_no_ssh(dev_stack):
    group = one(dev_stack, SECURITY_GROUP, "server-sg")
    ports = {rule["fromPort"]: rule for rule in group.inputs["ingress"]}
    assert set(ports) == {80}
    assert ports[80]["cidrBlocks"] == ["0.0.0.0/0"]
    assert one(dev_stack, "aws:ec2/instance:Instance", "server-instance").inputs["associatePublicIpAddress"] is True


def test_prod_does_not_expose_its_server_to_the_internet(prod_stack):
    instance = one(prod_stack, "aws:ec2/instance:Instance", "server-instance")
    assert instance.inputs.get("associatePublicIpAddress") is not True
    group = one(prod_stack, SECURITY_GROUP, "server-sg")
    sources = [cidr for rule in group.inputs["ingress"] for cidr in rule.get("cidrBlocks", [])]
    assert "0.0.0.0/0" not in sources


STATEFUL = ("server-data", "server-restored-data", "server-data-snapshot", "server-dr-snapshot")


def test_prod_protects_volumes_and_snapshots_from_deletion(prod_stack):
    stateful = [r for r in prod_stack.resources if r.name in STATEFUL]
    assert len(stateful) == 4
    assert all(r.options["protect"] and r.options["retainOnDelete"] for r in stateful)
    assert one(prod_stack, VOLUME, "server-data").inputs["finalSnapshot"] is True


def test_dev_leaves_volumes_and_snapshots_deletable(dev_stack):
    stateful = [r for r in dev_stack.resources if r.name in STATEFUL]
    assert stateful and not any(r.options["protect"] or r.options["retainOnDelete"] for r in stateful)


def test_the_dr_copy_is_made_in_the_dr_region_with_a_key_of_that_region(prod_stack):
    provider = one(prod_stack, "pulumi:providers:aws", "server-dr-region")
    assert provider.inputs["region"] == "eu-central-1"
    key = one(prod_stack, "aws:kms/key:Key", "server-dr-key")
    copy = one(prod_stack, SNAPSHOT_COPY)
    assert key.provider_ref.startswith(provider.urn) and copy.provider_ref.startswith(provider.urn)
    assert (copy.inputs["encrypted"], copy.inputs["kmsKeyId"]) == (True, key.outputs["arn"])
    assert copy.inputs["sourceSnapshotId"] == one(prod_stack, SNAPSHOT).id
    assert copy.inputs["sourceRegion"] == "eu-west-1"
    (rule,) = one(prod_stack, DLM).inputs["policyDetails"]["schedules"][0]["crossRegionCopyRules"]
    assert (rule["target"], rule["cmkArn"], rule["encrypted"]) == ("eu-central-1", key.outputs["arn"], True)


def test_dev_makes_no_dr_copy(dev_stack):
    assert not dev_stack.of_type(SNAPSHOT_COPY)
    assert "crossRegionCopyRules" not in one(dev_stack, DLM).inputs["policyDetails"]["schedules"][0]


def test_the_ami_comes_from_the_arm64_parameter_and_later_releases_do_not_replace_the_server(dev_stack):
    instance = one(dev_stack, INSTANCE)
    assert re.fullmatch(r"ami-[0-9a-f]{17}", instance.inputs["ami"])
    assert instance.inputs["instanceType"] == "t4g.micro"
    assert instance.options["ignoreChanges"] == ["ami"]


def test_an_ami_id_from_config_is_used_as_given(stack_with):
    recording = stack_with("dev", {"aws-compute:server.amiId": "ami-0123456789abcdef0"})
    instance = one(recording, INSTANCE)
    assert instance.inputs["ami"] == "ami-0123456789abcdef0" and instance.options["ignoreChanges"] == []


def test_the_user_data_installs_the_web_service(dev_stack):
    user_data = one(dev_stack, INSTANCE).inputs["userData"]
    payload = re.search(r"<<'PAYLOAD'\n(.*?)\nPAYLOAD\n", user_data, re.S).group(1)
    assert gzip.decompress(base64.b64decode(payload)) == SERVER_SCRIPT.read_bytes()
    assert 'PORT="80"' in user_data and 'ENVIRONMENT="dev"' in user_data


def test_dev_is_public_and_prod_is_private(dev_stack, prod_stack):
    assert one(dev_stack, INSTANCE).inputs["associatePublicIpAddress"] is True
    prod_instance = one(prod_stack, INSTANCE)
    assert prod_instance.inputs["associatePublicIpAddress"] is False
    (subnet,) = [s for s in prod_stack.of_type("aws:ec2/subnet:Subnet") if s.id == prod_instance.inputs["subnetId"]]
    assert subnet.inputs["tags"]["Tier"] == "private"


def test_dev_outputs_reach_the_server_by_ssm_with_no_ssh(dev_stack):
    outputs, instance = dev_stack.outputs, one(dev_stack, INSTANCE)
    assert outputs["serverInstanceId"] == instance.id
    assert outputs["serverSsmCommand"] == f"aws ssm start-session --target {instance.id} --region us-east-1"
    assert outputs["serverPublicIp"] and outputs["serverPublicDns"]
    assert "serverSshCommand" not in outputs
    assert outputs["serverDataVolumeId"] == one(dev_stack, VOLUME, "server-data").id
    assert outputs["serverSnapshotId"] == one(dev_stack, SNAPSHOT).id
    assert outputs["serverRestoredVolumeId"] == one(dev_stack, VOLUME, "server-restored-data").id


def test_prod_outputs_have_no_public_address_and_name_the_dr_copy(prod_stack):
    assert "serverPublicIp" not in prod_stack.outputs and "serverPublicDns" not in prod_stack.outputs
    assert prod_stack.outputs["serverDrSnapshotId"] == one(prod_stack, SNAPSHOT_COPY).id


def test_no_key_pair_without_a_public_key(dev_stack):
    assert not dev_stack.of_type(KEY_PAIR)
    assert "keyName" not in one(dev_stack, INSTANCE).inputs


@pytest.fixture(scope="module")
def ssh_stack():
    from tests.conftest import record_stack

    return record_stack("dev", {"aws-compute:server.sshCidrs": '["203.0.113.7/32"]',
                                "aws-compute:server.sshPublicKey": ED25519})


def test_a_public_key_becomes_the_instances_key_pair(ssh_stack):
    key_pair = one(ssh_stack, KEY_PAIR)
    assert key_pair.inputs["publicKey"] == ED25519
    assert one(ssh_stack, INSTANCE).inputs["keyName"] == key_pair.id


def test_ssh_access_adds_the_ssh_command(ssh_stack):
    dns = one(ssh_stack, INSTANCE).outputs["publicDns"]
    assert ssh_stack.outputs["serverSshCommand"] == f"ssh -i <your private key> ec2-user@{dns}"
