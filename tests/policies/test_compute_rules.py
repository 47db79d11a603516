"""EC2, launch template and EBS policies: each refuses what it exists to refuse and accepts the fix."""

from __future__ import annotations

import base64
import gzip
from typing import Any

from policies.rules import Resource, Stack, rule_named
from policies.rules.compute import (
    AUTOSCALING_GROUP,
    BACKUP_SELECTION,
    DLM_POLICY,
    ENCRYPTION_BY_DEFAULT,
    INSTANCE,
    LAUNCH_CONFIGURATION,
    LAUNCH_TEMPLATE,
    SNAPSHOT_BLOCK_PUBLIC_ACCESS,
    SNAPSHOT_COPY,
    SNAPSHOT_PERMISSION,
    VOLUME,
    VOLUME_ATTACHMENT,
)

from .pack_client import as_recorded

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXAMPLE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id


def check(policy: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(Resource(type_, props), config)


def check_stack(policy: str, *resources: Resource) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(resources))]


def good_instance(**overrides: Any) -> dict[str, Any]:
    """An instance that every compute policy accepts."""
    return {
        "ami": "ami-0123456789abcdef0", "instanceType": "t3.micro", "subnetId": "subnet-a",
        "associatePublicIpAddress": False, "iamInstanceProfile": "web-profile", "monitoring": True,
        "ebsOptimized": True, "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"},
        "rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY_ARN, "volumeSize": 20},
        "userData": "#!/bin/bash\ndnf install -y nginx\n", **overrides,
    }


def good_template(**overrides: Any) -> dict[str, Any]:
    """A launch template that every compute policy accepts: booleans as strings, user data as base64."""
    return {
        "imageId": "ami-0123456789abcdef0", "instanceType": "t3.small", "ebsOptimized": "true",
        "iamInstanceProfile": {"arn": "arn:aws:iam::123456789012:instance-profile/web"},
        "monitoring": {"enabled": True},
        "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled", "httpPutResponseHopLimit": 1},
        "networkInterfaces": [{"associatePublicIpAddress": "false", "securityGroups": ["sg-1"]}],
        "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                                 "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeSize": 20}}],
        "userData": base64.b64encode(b"#!/bin/bash\nsystemctl start web\n").decode(), **overrides,
    }


def good_configuration(**overrides: Any) -> dict[str, Any]:
    return {
        "imageId": "ami-0123456789abcdef0", "instanceType": "t3.micro", "iamInstanceProfile": "web",
        "associatePublicIpAddress": False, "rootBlockDevice": {"encrypted": True},
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}, **overrides,
    }


def test_the_good_fixtures_pass_every_compute_policy():
    policies = ["ec2-no-public-ip", "ec2-imdsv2-required", "ebs-encrypted", "ebs-customer-managed-key",
                "ec2-detailed-monitoring", "ec2-ebs-optimized", "ec2-instance-profile", "ec2-instance-type-allowed",
                "ec2-no-secrets-in-user-data", "ec2-metadata-hop-limit"]
    for policy in policies:
        assert check(policy, INSTANCE, good_instance()) == [], policy
        assert check(policy, LAUNCH_TEMPLATE, good_template()) == [], policy
        assert check(policy, LAUNCH_CONFIGURATION, good_configuration()) == [], policy


# --- ec2-no-public-ip (C1-C3) ------------------------------------------------------------------------------

def test_an_instance_with_a_public_ip_is_refused():
    assert check("ec2-no-public-ip", INSTANCE, good_instance(associatePublicIpAddress=True)) == [
        "associatePublicIpAddress = True gives the instance a public address; allowed: false or not set"]


def test_a_public_ip_on_a_launch_templates_second_interface_is_refused():
    props = good_template(networkInterfaces=[{"associatePublicIpAddress": "false"},
                                             {"associatePublicIpAddress": "true"}])
    [message] = check("ec2-no-public-ip", LAUNCH_TEMPLATE, props)
    assert message.startswith("networkInterfaces[1].associatePublicIpAddress = 'true'")


def test_a_launch_configuration_with_a_public_ip_is_refused():
    assert check("ec2-no-public-ip", LAUNCH_CONFIGURATION, good_configuration(associatePublicIpAddress=True))


def test_an_unknown_public_ip_setting_is_reported_as_unverifiable():
    [message] = check("ec2-no-public-ip", INSTANCE, good_instance(associatePublicIpAddress=UNKNOWN))
    assert "cannot be verified during preview" in message


# --- ec2-imdsv2-required (C4, C5) --------------------------------------------------------------------------

def test_an_instance_without_metadata_options_is_refused_because_the_default_is_optional():
    props = good_instance()
    del props["metadataOptions"]
    [message] = check("ec2-imdsv2-required", INSTANCE, props)
    assert message.startswith("metadataOptions.httpTokens = not set") and "'optional'" in message


def test_optional_tokens_on_a_launch_template_are_refused():
    props = good_template(metadataOptions={"httpTokens": "optional", "httpEndpoint": "enabled"})
    assert check("ec2-imdsv2-required", LAUNCH_TEMPLATE, props)


def test_optional_tokens_on_a_launch_configuration_are_refused():
    assert check("ec2-imdsv2-required", LAUNCH_CONFIGURATION, good_configuration(metadataOptions={}))


def test_a_disabled_metadata_endpoint_needs_no_tokens():
    props = good_instance(metadataOptions={"httpEndpoint": "disabled"})
    assert check("ec2-imdsv2-required", INSTANCE, props) == []


def test_an_instance_from_a_launch_template_leaves_metadata_options_to_the_template():
    props = good_instance(launchTemplate={"id": "lt-1", "version": "$Latest"})
    del props["metadataOptions"]
    assert check("ec2-imdsv2-required", INSTANCE, props) == []


# --- ec2-metadata-hop-limit (C6) ---------------------------------------------------------------------------

def test_a_hop_limit_of_two_is_refused():
    props = good_template(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2})
    assert check("ec2-metadata-hop-limit", LAUNCH_TEMPLATE, props) == [
        "metadataOptions.httpPutResponseHopLimit = 2; allowed: 1 to 1"]


def test_a_missing_hop_limit_is_refused_because_the_ami_decides():
    props = good_configuration(metadataOptions={"httpTokens": "required"})
    [message] = check("ec2-metadata-hop-limit", LAUNCH_CONFIGURATION, props)
    assert "is not set, so the AMI decides" in message


def test_a_higher_hop_limit_passes_when_the_config_allows_it():
    props = good_template(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2})
    assert check("ec2-metadata-hop-limit", LAUNCH_TEMPLATE, props, {"maximumHopLimit": 2}) == []


# --- ebs-encrypted (C7-C10) ---------------------------------------------------------------------------------

def test_an_instance_without_a_declared_root_device_is_refused():
    props = good_instance()
    del props["rootBlockDevice"]
    [message] = check("ebs-encrypted", INSTANCE, props)
    assert message.startswith("rootBlockDevice is not set")


def test_an_unencrypted_instance_data_device_is_refused_with_its_path():
    props = good_instance(ebsBlockDevices=[{"deviceName": "/dev/sdf", "encrypted": True},
                                           {"deviceName": "/dev/sdg"}])
    assert check("ebs-encrypted", INSTANCE, props) == ["ebsBlockDevices[1].encrypted = not set; allowed: true"]


def test_a_launch_template_block_device_with_encrypted_false_is_refused():
    props = good_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}])
    assert check("ebs-encrypted", LAUNCH_TEMPLATE, props) == [
        "blockDeviceMappings[0].ebs.encrypted = 'false'; allowed: true"]


def test_a_launch_template_without_block_device_mappings_is_refused():
    props = good_template()
    del props["blockDeviceMappings"]
    [message] = check("ebs-encrypted", LAUNCH_TEMPLATE, props)
    assert message.startswith("blockDeviceMappings is not set")


def test_a_launch_configuration_with_an_unencrypted_root_is_refused():
    props = good_configuration(rootBlockDevice={"volumeSize": 8})
    assert check("ebs-encrypted", LAUNCH_CONFIGURATION, props) == [
        "rootBlockDevice.encrypted = not set; allowed: true"]


def test_an_unencrypted_volume_is_refused_and_an_encrypted_one_passes():
    assert check("ebs-encrypted", VOLUME, {"availabilityZone": "us-east-1a", "size": 10}) == [
        "encrypted = not set; allowed: true"]
    assert check("ebs-encrypted", VOLUME, {"availabilityZone": "us-east-1a", "encrypted": True}) == []


# --- ebs-customer-managed-key (C12, C14) ----------------------------------------------------------------------

def test_a_volume_without_a_key_is_refused():
    [message] = check("ebs-customer-managed-key", VOLUME, {"encrypted": True})
    assert message.startswith("kmsKeyId = not set means the AWS-managed aws/ebs key")


def test_the_aws_managed_ebs_alias_is_refused():
    assert check("ebs-customer-managed-key", VOLUME, {"encrypted": True, "kmsKeyId": "alias/aws/ebs"})


def test_a_customer_managed_key_passes_even_when_unknown_during_preview():
    assert check("ebs-customer-managed-key", VOLUME, {"encrypted": True, "kmsKeyId": KEY_ARN}) == []
    assert check("ebs-customer-managed-key", VOLUME, {"encrypted": True, "kmsKeyId": UNKNOWN}) == []


def test_a_key_outside_the_configured_list_is_refused():
    other = KEY_ARN.replace("1234abcd", "9999ffff")
    assert check("ebs-customer-managed-key", VOLUME, {"kmsKeyId": other}, {"allowedKmsKeys": [KEY_ARN]})


def test_a_snapshot_copy_without_a_key_is_refused():
    assert check("ebs-customer-managed-key", SNAPSHOT_COPY, {"sourceSnapshotId": "snap-1", "encrypted": True})
    assert check("ebs-customer-managed-key", SNAPSHOT_COPY, {"sourceSnapshotId": "snap-1",
                                                             "kmsKeyId": KEY_ARN}) == []


# --- ebs-encryption-by-default (C13) -------------------------------------------------------------------------

def test_turning_ebs_encryption_by_default_off_is_refused():
    assert check("ebs-encryption-by-default", ENCRYPTION_BY_DEFAULT, {"enabled": False}) == [
        "enabled = False; allowed: true"]


def test_ebs_encryption_by_default_passes_when_on_or_left_at_the_default():
    assert check("ebs-encryption-by-default", ENCRYPTION_BY_DEFAULT, {"enabled": True}) == []
    assert check("ebs-encryption-by-default", ENCRYPTION_BY_DEFAULT, {}) == []


# --- ebs-snapshots-not-public (C15) ---------------------------------------------------------------------------

def test_sharing_a_snapshot_with_an_unlisted_account_is_refused():
    [message] = check("ebs-snapshots-not-public", SNAPSHOT_PERMISSION,
                      {"snapshotId": "snap-1", "accountId": "210987654321"})
    assert "accountId = '210987654321'" in message and "no account (sharing is off)" in message


def test_sharing_a_snapshot_with_a_listed_account_passes():
    props = {"snapshotId": "snap-1", "accountId": "123456789012"}
    assert check("ebs-snapshots-not-public", SNAPSHOT_PERMISSION, props,
                 {"allowedAccountIds": ["123456789012"]}) == []


def test_unblocking_public_snapshot_sharing_is_refused():
    assert check("ebs-snapshots-not-public", SNAPSHOT_BLOCK_PUBLIC_ACCESS, {"state": "unblocked"})
    assert check("ebs-snapshots-not-public", SNAPSHOT_BLOCK_PUBLIC_ACCESS, {"state": "block-all-sharing"}) == []


# --- ec2-detailed-monitoring, ec2-ebs-optimized, ec2-instance-profile (C18-C20) -------------------------------

def test_an_instance_without_detailed_monitoring_is_refused():
    assert check("ec2-detailed-monitoring", INSTANCE, good_instance(monitoring=False)) == [
        "monitoring = False; allowed: true"]


def test_a_launch_template_without_monitoring_is_refused():
    props = good_template()
    del props["monitoring"]
    assert check("ec2-detailed-monitoring", LAUNCH_TEMPLATE, props) == [
        "monitoring.enabled = not set; allowed: true"]


def test_an_instance_of_a_type_where_ebs_optimization_is_optional_must_turn_it_on():
    props = good_instance(instanceType="c3.xlarge")
    del props["ebsOptimized"]
    assert check("ec2-ebs-optimized", INSTANCE, props) == ["ebsOptimized = not set; allowed: true"]


def test_a_launch_template_of_such_a_type_that_turns_it_off_is_refused():
    assert check("ec2-ebs-optimized", LAUNCH_TEMPLATE, good_template(instanceType="m3.2xlarge", ebsOptimized="false")) \
        == ["ebsOptimized = 'false'; allowed: true"]


def test_such_a_type_with_ebs_optimization_on_passes():
    assert check("ec2-ebs-optimized", INSTANCE, good_instance(instanceType="r3.xlarge", ebsOptimized=True)) == []


def test_a_type_that_cannot_be_ebs_optimized_is_not_asked_to_be():
    props = good_instance(instanceType="t2.micro")
    del props["ebsOptimized"]
    assert check("ec2-ebs-optimized", INSTANCE, props) == []


def test_a_type_that_is_ebs_optimized_by_default_passes_without_the_setting():
    for instance_type in ("m5.large", "c4.large", "t3.micro"):
        props = good_instance(instanceType=instance_type)
        del props["ebsOptimized"]
        assert check("ec2-ebs-optimized", INSTANCE, props) == [], instance_type


def test_an_instance_type_still_unknown_cannot_be_verified_without_the_setting():
    props = good_instance(instanceType=UNKNOWN)
    del props["ebsOptimized"]
    [message] = check("ec2-ebs-optimized", INSTANCE, props)
    assert message.startswith("instanceType cannot be verified during preview")


def test_an_instance_without_an_instance_profile_is_refused():
    props = good_instance()
    del props["iamInstanceProfile"]
    assert check("ec2-instance-profile", INSTANCE, props)


def test_an_instance_profile_made_by_the_stack_passes_while_still_unknown():
    assert check("ec2-instance-profile", INSTANCE, good_instance(iamInstanceProfile=UNKNOWN)) == []


def test_a_launch_template_without_an_instance_profile_is_refused():
    props = good_template()
    del props["iamInstanceProfile"]
    assert check("ec2-instance-profile", LAUNCH_TEMPLATE, props)


# --- ec2-instance-type-allowed --------------------------------------------------------------------------------

def test_an_instance_type_outside_the_allow_list_is_refused():
    [message] = check("ec2-instance-type-allowed", INSTANCE, good_instance(instanceType="p4d.24xlarge"))
    assert message.startswith("instanceType = 'p4d.24xlarge'; allowed: t3.*")


def test_an_auto_scaling_override_outside_the_allow_list_is_refused():
    group = {"mixedInstancesPolicy": {"launchTemplate": {
        "launchTemplateSpecification": {"launchTemplateId": "lt-1"},
        "overrides": [{"instanceType": "t3.small"}, {"instanceType": "x2iedn.32xlarge"}]}}}
    [message] = check("ec2-instance-type-allowed", AUTOSCALING_GROUP, group)
    assert message.startswith("mixedInstancesPolicy.launchTemplate.overrides[1].instanceType = 'x2iedn.32xlarge'")


def test_a_configured_instance_type_pattern_is_allowed():
    props = good_instance(instanceType="g5.xlarge")
    assert check("ec2-instance-type-allowed", INSTANCE, props, {"allowedInstanceTypes": ["g5.*"]}) == []


# --- ec2-no-secrets-in-user-data (C21) ------------------------------------------------------------------------

def test_an_access_key_in_plain_user_data_is_refused_without_repeating_it():
    props = good_instance(userData=f"#!/bin/bash\nexport AWS_ACCESS_KEY_ID={EXAMPLE_ACCESS_KEY}\n")
    [message] = check("ec2-no-secrets-in-user-data", INSTANCE, props)
    assert message.startswith("userData line 2 holds what looks like an AWS access key id (AKIA…)")
    assert EXAMPLE_ACCESS_KEY not in message


def test_a_private_key_in_base64_launch_template_user_data_is_refused():
    script = b"#!/bin/bash\ncat > /root/.ssh/id_rsa <<EOF\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\nEOF\n"
    props = good_template(userData=base64.b64encode(script).decode())
    [message] = check("ec2-no-secrets-in-user-data", LAUNCH_TEMPLATE, props)
    assert message.startswith("userData (decoded from base64) line 3 holds what looks like a private key")


def test_a_password_in_gzipped_base64_user_data_is_refused():
    script = gzip.compress(b"#cloud-config\nruncmd:\n  - echo DB_PASSWORD=hunter2-horse >> /etc/app.env\n")
    props = good_instance(userData=None, userDataBase64=base64.b64encode(script).decode())
    [message] = check("ec2-no-secrets-in-user-data", INSTANCE, props)
    assert "line 3 holds what looks like a password assignment" in message


def test_a_secret_key_in_a_launch_configuration_is_refused():
    script = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    assert check("ec2-no-secrets-in-user-data", LAUNCH_CONFIGURATION, good_configuration(userData=script))


def test_user_data_that_reads_secrets_at_boot_passes():
    script = ("#!/bin/bash\nDB_PASSWORD=$(aws ssm get-parameter --with-decryption --name /app/db "
              "--query Parameter.Value --output text)\nexport PASSWORD=\"${DB_PASSWORD}\"\n")
    assert check("ec2-no-secrets-in-user-data", INSTANCE, good_instance(userData=script)) == []
    assert check("ec2-no-secrets-in-user-data", LAUNCH_TEMPLATE,
                 good_template(userData=base64.b64encode(script.encode()).decode())) == []


# --- relations: ebs-attached-volumes-encrypted (C11), ebs-volumes-backed-up (C16) -----------------------------

def volume(name: str, **props: Any) -> Resource:
    return Resource(VOLUME, {"id": f"vol-{name}", "arn": f"arn:aws:ec2:us-east-1:123456789012:volume/vol-{name}",
                             **props}, name=name, urn=f"urn:pulumi:dev::p::{VOLUME}::{name}")


def attachment(volume_id: Any, **extra: Any) -> Resource:
    return Resource(VOLUME_ATTACHMENT, {"volumeId": volume_id, "instanceId": "i-1", "deviceName": "/dev/sdf"},
                    name="attach", urn="urn:pulumi:dev::p::attach", **extra)


def test_attaching_an_unencrypted_volume_is_refused():
    assert check_stack("ebs-attached-volumes-encrypted", volume("data"), attachment("vol-data")) == [
        ("attach", "attaches volume data whose encrypted = not set; allowed: only encrypted volumes")]


def test_an_unencrypted_volume_is_found_through_the_property_dependency_when_its_id_is_unknown():
    data = volume("data", encrypted=False)
    link = attachment(UNKNOWN, property_dependencies={"volumeId": (data.urn,)})
    assert check_stack("ebs-attached-volumes-encrypted", data, link)


def test_attaching_an_encrypted_volume_passes():
    assert check_stack("ebs-attached-volumes-encrypted", volume("data", encrypted=True),
                       attachment("vol-data")) == []


def test_attaching_a_volume_of_another_stack_cannot_be_decided_offline():
    [(_, message)] = check_stack("ebs-attached-volumes-encrypted", attachment("vol-elsewhere"))
    assert "cannot be decided offline" in message


def test_a_volume_in_no_backup_plan_is_refused():
    [(name, message)] = check_stack("ebs-volumes-backed-up", volume("data", tags={"Backup": "daily"}))
    assert name == "data" and "no aws:backup/selection:Selection" in message


def test_a_volume_targeted_by_a_dlm_policy_through_its_tags_passes():
    policy = Resource(DLM_POLICY, {"state": "ENABLED", "policyDetails": {
        "resourceTypes": ["VOLUME"], "targetTags": {"Backup": "daily"}}}, name="snapshots")
    assert check_stack("ebs-volumes-backed-up", volume("data", tags={"Backup": "daily"}), policy) == []


def test_a_disabled_dlm_policy_does_not_count():
    policy = Resource(DLM_POLICY, {"state": "DISABLED", "policyDetails": {
        "resourceTypes": ["VOLUME"], "targetTags": {"Backup": "daily"}}}, name="snapshots")
    assert check_stack("ebs-volumes-backed-up", volume("data", tags={"Backup": "daily"}), policy)


def test_a_volume_selected_by_arn_pattern_in_a_backup_selection_passes():
    selection = Resource(BACKUP_SELECTION, {"planId": "p", "resources": ["arn:aws:ec2:*:*:volume/*"]}, name="sel")
    assert check_stack("ebs-volumes-backed-up", volume("data"), selection) == []


def test_a_volume_selected_by_tag_condition_in_a_backup_selection_passes():
    selection = Resource(BACKUP_SELECTION, {"planId": "p", "conditions": [
        {"stringEquals": [{"key": "aws:ResourceTag/Backup", "value": "daily"}]}]}, name="sel")
    assert check_stack("ebs-volumes-backed-up", volume("data", tags={"Backup": "daily"}), selection) == []


def test_a_volume_attached_to_an_instance_in_an_instance_snapshot_policy_passes():
    server = Resource(INSTANCE, {"id": "i-1", "tags": {"Snapshot": "yes"}}, name="server", urn="urn:i")
    policy = Resource(DLM_POLICY, {"policyDetails": {"resourceTypes": ["INSTANCE"],
                                                     "targetTags": {"Snapshot": "yes"}}}, name="snapshots")
    assert check_stack("ebs-volumes-backed-up", volume("data"), attachment("vol-data"), server, policy) == []


# --- through the real pack -------------------------------------------------------------------------------------

def test_the_pack_reports_compute_findings_over_grpc(pack):
    leaky = good_template(metadataOptions={"httpTokens": "optional"},
                          blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}],
                          userData=base64.b64encode(f"KEY={EXAMPLE_ACCESS_KEY}".encode()).decode())
    bad = as_recorded(LAUNCH_TEMPLATE, leaky, name="leaky")
    good = as_recorded(LAUNCH_TEMPLATE, good_template(), name="sound")
    data = as_recorded(VOLUME, {"availabilityZone": "us-east-1a", "size": 10}, name="data",
                       outputs={"id": "vol-data", "availabilityZone": "us-east-1a", "size": 10})
    findings = pack.analyze([bad, good, data])
    ours = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings if f.policy.startswith(("ec2-", "ebs-"))}
    assert {("ec2-imdsv2-required", "leaky"), ("ebs-encrypted", "leaky"), ("ec2-no-secrets-in-user-data", "leaky"),
            ("ebs-encrypted", "data"), ("ebs-volumes-backed-up", "data")} <= ours
    assert not [policy for policy, name in ours if name == "sound"]
