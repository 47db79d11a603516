"""The ``server`` section: defaults, derived values, and what every refusal says."""

from __future__ import annotations

import json

import pytest

from components.config import ConfigError, load_stack_config
from components.config.server import architecture_of, public_key_problem, ssh_cidr_problem

BASE = {"aws:region": "us-east-1", "aws-compute:server.enabled": "true"}
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
# A well-formed ed25519 public key (32 zero bytes as the key): the format is what is checked.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ops@example"
PRIVATE = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n"
           "-----END OPENSSH PRIVATE KEY-----")


def key(name: str) -> str:
    return f"aws-compute:server.{name}"


def load(**overrides: str):
    return load_stack_config({**BASE, **{key(k): v for k, v in overrides.items()}}, "dev")


def problems_of(overrides: dict[str, str], zones: list[str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config = load(**overrides)
        config.check_zones(zones or ZONES)
    return [str(p) for p in caught.value.problems]


def test_defaults_are_a_private_graviton_server_with_no_ssh_and_daily_backups():
    server = load().server
    assert (server.instance_type, server.architecture, server.public) == ("t4g.micro", "arm64", False)
    assert server.ssh_cidrs == () and server.ssh_public_key == ""
    assert (server.data_volume_type, server.data_volume_size, server.device_name) == ("gp3", 10, "/dev/sdf")
    assert (server.backup_schedule, server.backup_retention) == ("daily", 7)


def test_protection_defaults_to_on_in_prod_only():
    server = load().server
    assert server.protected(is_prod=True) is True and server.protected(is_prod=False) is False
    assert load(protect="false").server.protected(is_prod=True) is False


@pytest.mark.parametrize(("instance_type", "architecture"), [
    ("t4g.micro", "arm64"), ("m7g.large", "arm64"), ("c6gn.xlarge", "arm64"), ("r8gd.2xlarge", "arm64"),
    ("im4gn.large", "arm64"), ("is4gen.medium", "arm64"), ("a1.medium", "arm64"), ("g5g.xlarge", "arm64"),
    ("t3.micro", "x86_64"), ("m7i-flex.large", "x86_64"), ("g4dn.xlarge", "x86_64"), ("c7a.large", "x86_64"),
    ("m5zn.large", "x86_64"), ("u-6tb1.metal", "x86_64"),
])
def test_the_architecture_follows_the_instance_family(instance_type, architecture):
    assert architecture_of(instance_type) == architecture


def test_a_host_and_a_narrow_range_may_reach_ssh():
    assert load(sshCidrs=json.dumps(["203.0.113.7/32", "203.0.113.0/24", "2001:db8::/56"])).server.ssh_cidrs
    assert ssh_cidr_problem("203.0.113.7/32", 24) is None


def test_a_real_public_key_is_accepted_without_its_trailing_newline():
    assert load(sshPublicKey=ED25519 + "\n").server.ssh_public_key == ED25519


def test_a_key_whose_data_names_another_type_is_refused():
    rsa_labelled = ED25519.replace("ssh-ed25519", "ssh-rsa", 1)
    assert "not an ssh-rsa key" in public_key_problem(rsa_labelled)


# Each bad value: (overrides, the key the message must name, the value it must show, what is allowed).
BAD_VALUES = [
    ({"sshCidrs": '["0.0.0.0/0"]'}, "sshCidrs", "0.0.0.0/0", "never 0.0.0.0/0"),
    ({"sshCidrs": '["::/0"]'}, "sshCidrs", "::/0", "never 0.0.0.0/0 or ::/0"),
    ({"sshCidrs": '["203.0.0.0/16"]'}, "sshCidrs", "203.0.0.0/16", "at least as narrow as /sshMinPrefix"),
    ({"sshCidrs": '["2001:db8::/48"]'}, "sshCidrs", "2001:db8::/48", "broader than /56"),
    ({"sshCidrs": '["203.0.113.0/28"]', "sshMinPrefix": "30"}, "sshCidrs", "203.0.113.0/28", "broader than /30"),
    ({"sshCidrs": '["203.0.113.5/24"]'}, "sshCidrs", "203.0.113.5/24", "CIDR notation"),
    ({"sshMinPrefix": "4"}, "sshMinPrefix", "4", "from 8 to 32"),
    ({"httpCidrs": '["everyone"]'}, "httpCidrs", "everyone", "CIDR notation"),
    ({"instanceType": "large"}, "instanceType", "large", "such as t4g.micro"),
    ({"amiId": "ami-123"}, "amiId", "ami-123", "8 or 17 lowercase hex"),
    ({"amiId": "ami-0123456789ABCDEF0"}, "amiId", "ami-0123456789ABCDEF0", "8 or 17 lowercase hex"),
    ({"sshPublicKey": "ssh-dss AAAAB3NzaC1kc3M="}, "sshPublicKey", "ssh-dss", "ssh-ed25519 | ssh-rsa"),
    ({"sshPublicKey": "ssh-ed25519 not*base64"}, "sshPublicKey", "not*base64", "ssh-ed25519"),
    ({"dataVolumeType": "gp4"}, "dataVolumeType", "gp4", "gp3 | gp2 | io1 | io2 | st1 | sc1 | standard"),
    ({"dataVolumeSize": "0"}, "dataVolumeSize", "0", "gp3 1-16384"),
    ({"dataVolumeSize": "20000"}, "dataVolumeSize", "20000", "gp3 1-16384"),
    ({"dataVolumeType": "st1", "dataVolumeSize": "100"}, "dataVolumeSize", "100", "st1 125-16384"),
    ({"dataVolumeIops": "2000"}, "dataVolumeIops", "2000", "gp3 3000-16000"),
    ({"dataVolumeIops": "17000", "dataVolumeSize": "100"}, "dataVolumeIops", "17000", "gp3 3000-16000"),
    ({"dataVolumeIops": "6000"}, "dataVolumeIops", "6000", "500 per GiB"),
    ({"dataVolumeType": "gp2", "dataVolumeIops": "3000"}, "dataVolumeIops", "3000", "not for other types"),
    ({"dataVolumeType": "io2", "dataVolumeSize": "100"}, "dataVolumeIops", "(missing)", "required for io1 and io2"),
    ({"dataVolumeType": "io1", "dataVolumeSize": "10", "dataVolumeIops": "1000"}, "dataVolumeIops", "1000",
     "io1 100-64000 (50 per GiB)"),
    ({"dataVolumeThroughput": "100"}, "dataVolumeThroughput", "100", "125-1000"),
    ({"dataVolumeThroughput": "1001"}, "dataVolumeThroughput", "1001", "125-1000"),
    ({"dataVolumeThroughput": "1000"}, "dataVolumeThroughput", "1000", "at most IOPS / 4"),
    ({"dataVolumeType": "io2", "dataVolumeSize": "100", "dataVolumeIops": "5000", "dataVolumeThroughput": "500"},
     "dataVolumeThroughput", "500", "gp3 only"),
    ({"deviceName": "/dev/sda1"}, "deviceName", "/dev/sda1", "/dev/sdf to /dev/sdp"),
    ({"deviceName": "/dev/sdz"}, "deviceName", "/dev/sdz", "/dev/sdf to /dev/sdp"),
    ({"deviceName": "sdf"}, "deviceName", "sdf", "/dev/sdf to /dev/sdp"),
    ({"restoreAz": "us-east-1"}, "restoreAz", "us-east-1", "one of the stack's AZs"),
    ({"drRegion": "europe"}, "drRegion", "europe", "such as eu-central-1"),
    ({"backupSchedule": "hourly"}, "backupSchedule", "hourly", "every-12-hours | daily | weekly"),
    ({"backupTime": "3am"}, "backupTime", "3am", "HH:MM"),
    ({"backupTime": "24:00"}, "backupTime", "24:00", "HH:MM"),
    ({"backupRetention": "0"}, "backupRetention", "0", "from 1 to 1000"),
    ({"backupRetention": "1001"}, "backupRetention", "1001", "from 1 to 1000"),
    ({"protect": "sometimes"}, "protect", "sometimes", "true | false"),
]


@pytest.mark.parametrize(("overrides", "field", "value", "allowed"), BAD_VALUES,
                         ids=[f"{f}={next(iter(o.values()))[:24]}" for o, f, _, _ in BAD_VALUES])
def test_a_bad_value_is_refused_naming_its_key_its_value_and_what_is_allowed(overrides, field, value, allowed):
    problems = problems_of(overrides)
    matching = [p for p in problems if p.startswith(key(field))]
    assert matching, problems
    assert value in matching[0]
    assert allowed in matching[0]


def test_an_unknown_server_key_is_refused_with_the_closest_name():
    (problem,) = problems_of({"sshCidr": '["203.0.113.7/32"]'})
    assert "did you mean aws-compute:server.sshCidrs?" in problem


def test_a_private_key_is_refused_without_showing_it():
    (problem,) = problems_of({"sshPublicKey": PRIVATE})
    assert problem.startswith(key("sshPublicKey"))
    assert "private key" in problem and "the public key" in problem
    assert "b3BlbnNzaC1rZXktdjE" not in problem and "BEGIN" not in problem


def test_a_private_key_body_without_its_header_is_refused_too():
    body = PRIVATE.splitlines()[1]
    (problem,) = problems_of({"sshPublicKey": body})
    assert "private key" in problem and body not in problem


def test_a_restore_in_another_of_the_stacks_azs_is_accepted():
    config = load(restoreAz="us-east-1b")
    config.check_zones(ZONES)  # raises ConfigError when the AZ is refused
    assert config.server.restore_az == "us-east-1b"


def test_a_restore_in_the_servers_own_az_is_refused():
    (problem,) = problems_of({"restoreAz": "us-east-1a"})
    assert problem.startswith(key("restoreAz") + ' = "us-east-1a"')
    assert "the server's own AZ" in problem and "allowed: one of us-east-1b" in problem


def test_a_restore_in_an_az_the_network_does_not_use_is_refused():
    # Two AZs by default: us-east-1c exists in the region but holds no subnet of the stack.
    (problem,) = problems_of({"restoreAz": "us-east-1c"})
    assert problem.startswith(key("restoreAz")) and "allowed: one of us-east-1b" in problem


def test_a_dr_copy_to_the_stacks_own_region_is_refused():
    (problem,) = problems_of({"drRegion": "us-east-1"})
    assert problem.startswith(key("drRegion") + ' = "us-east-1"')
    assert "other than us-east-1" in problem
