"""Stack files mean to the preflight what they mean to the Pulumi CLI, and every mistake in one exits 2 naming it.

The CLI's YAML is gopkg.in/yaml.v2 v2.4.0 (pulumi/pulumi sdk/go/common/encoding/marshal.go, sdk/go.mod): YAML
1.1 booleans, Go integers, no base-60 numbers, timestamps kept as text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from preflight.stackfiles import go_resolve, marshal_value, read_stack_files
from tests.preflight.test_preflight_cli import ROOT, copy_project, preflight

READS = ROOT / "tests" / "fixtures" / "reads"
CIPHERTEXT = "v1:AAAAAAAAAAAAAAAA:c2VjcmV0IGJ5dGVzIGhlcmU="
DEV = (ROOT / "Pulumi.dev.yaml").read_text()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("stackfiles"))


def run_stack(project: Path, text: str, stack: str = "mistake"):
    (project / f"Pulumi.{stack}.yaml").write_text(text)
    return preflight("--stack", stack, "--project-dir", str(project))


def dev_with(old: str, new: str) -> str:
    assert old in DEV, old
    return DEV.replace(old, new)


def with_image_tag(text: str) -> str:
    """Dev with a ``service.imageTag:`` line written as ``text`` (dev sets none: it builds its image)."""
    line = f"aws-compute:service.imageTag: {text}".rstrip()
    return dev_with("service.keepImages: 10", f"service.keepImages: 10\n  {line}")


def refused(run, *fragments: str) -> str:
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in run.stderr, (fragment, run.stderr)
    return run.stderr


# --- The CLI's YAML, scalar by scalar -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("yes", True), ("Yes", True), ("on", True), ("y", True), ("no", False), ("OFF", False), ("n", False),
    ("true", True), ("False", False), ("~", None), ("null", None), ("Null", None),
    ("0777", 511), ("017", 15), ("0o17", 15), ("0x1F", 31), ("0b101", 5), ("1_000", 1000), ("+5", 5),
    ("08", 8.0), ("1.10", 1.1), ("1e3", 1000.0), (".5", 0.5),
    ("12:30", "12:30"), ("1:30:00", "1:30:00"), ("2001-12-14", "2001-12-14"), ("1.2.3", "1.2.3"),
    ("nUll", "nUll"), ("t3.micro", "t3.micro"),
])
def test_a_plain_scalar_resolves_as_yaml_v2_decodes_it_into_interface(text, value):
    assert go_resolve(text) == value and type(go_resolve(text)) is type(value)


@pytest.mark.parametrize("text", [".inf", ".Inf", "+.INF", "-.inf"])
def test_infinity_resolves_to_a_float(text):
    assert math.isinf(go_resolve(text))


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"), (1.1, "1.1"), (1000.0, "1000"), (1e6, "1000000"), (511, "511"), (None, ""),
    ([True, 1.1, "x<y"], '[true,1.1,"x\\u003cy"]'), ({"b": 1, "a": None}, '{"a":null,"b":1}'),
])
def test_the_program_receives_the_clis_text_for_each_value(value, text):
    assert marshal_value(value) == text


def test_a_base_60_looking_time_stays_the_text_written(tmp_path):
    project = copy_project(tmp_path)
    (project / "Pulumi.t.yaml").write_text(dev_with("  aws-compute:server.backupRetention: 3",
                                                    "  aws-compute:server.backupRetention: 3\n"
                                                    "  aws-compute:server.backupTime: 12:30"))
    assert read_stack_files(project, "t").config["aws-compute:server.backupTime"] == "12:30"


def test_pulumi_yaml_dotted_defaults_land_in_an_object_as_the_clis_merge_puts_them():
    files = read_stack_files(ROOT, "dev")
    network = json.loads(files.config["aws-compute:network"])
    assert network["azCount"] == 2 and network["flowLogs"] is True
    assert files.config["aws-compute:network.azCount"] == "2"  # the stack file's own value, unchanged


# --- Valid configs of every shape pass ---------------------------------------------------------------------

VALID_SHAPES = (DEV
                .replace("  aws-compute:network.azCount: 2", "  network.azCount: 2")  # a bare key
                .replace("  aws-compute:server.backupRetention: 3",
                         "  aws-compute:server.backupRetention: 3\n"
                         "  aws-compute:server.backupTime: 12:30\n"  # not base 60
                         "  aws-compute:server.httpsPort: yes\n"  # YAML 1.1 boolean where a boolean is declared
                         f"  aws-compute:server.sshPublicKey:\n    secure: {CIPHERTEXT}\n")
                .replace("  aws-compute:fleet.minSize: 1", '  aws-compute:fleet.minSize: "1"')  # text the CLI accepts
                .replace("  aws-compute:service.keepImages: 10",
                         f"  aws-compute:service.keepImages: 10\n  aws-compute:service.environment:\n"
                         f"    secure: {CIPHERTEXT}"))


def test_valid_stack_files_of_every_shape_pass(project):
    run = run_stack(project, VALID_SHAPES, stack="shapes")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr


# --- Mistakes: each exits 2 naming the key ------------------------------------------------------------------

def test_a_yaml_1_1_boolean_where_text_is_declared_is_refused_with_the_hint_to_quote_it(project):
    refused(run_stack(project, dev_with("network.natGateways: single", "network.natGateways: no")),
            "aws-compute:network.natGateways = false", "YAML read no as false", 'quote it: "no"')


def test_a_number_where_text_is_declared_is_refused_with_the_hint_to_quote_it(project):
    refused(run_stack(project, with_image_tag("1.10")),
            "aws-compute:service.imageTag = 1.1", "text expected, not the number 1.1", 'quote it: "1.10"')


def test_an_empty_value_is_refused_not_passed_as_text(project):
    refused(run_stack(project, with_image_tag("")),
            "aws-compute:service.imageTag", "has no value", "''")


def test_the_quoted_text_yes_for_a_boolean_is_refused_as_get_bool_would(project):
    refused(run_stack(project, dev_with("server.enabled: true", 'server.enabled: "yes"')),
            "aws-compute:server.enabled", 'not the text "yes"', "true or false")


def test_a_boolean_for_a_number_is_refused_not_read_as_1(project):
    refused(run_stack(project, dev_with("fleet.minSize: 1", "fleet.minSize: true")),
            "aws-compute:fleet.minSize", "a whole number expected, not the boolean true")


def test_a_key_given_twice_is_refused_naming_it_and_both_lines(project):
    text = dev_with("  aws-compute:fleet.maxSize: 3", "  aws-compute:fleet.maxSize: 3\n  aws-compute:fleet.minSize: 2")
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if "fleet.minSize:" in line]
    refused(run_stack(project, text), "aws-compute:fleet.minSize is given twice",
            f"lines {lines[0]} and {lines[1]}")


def test_a_key_outside_the_config_block_is_named(project):
    refused(run_stack(project, DEV + "aws-compute:network.azCount: 3\n"),
            "aws-compute:network.azCount: outside the config: block")


def test_a_file_without_the_config_wrapper_is_reported_by_name_not_as_a_missing_region(project):
    stderr = refused(run_stack(project, "aws:region: us-east-1\naws-compute:network.azCount: 3\n"),
                     "has no config: block", "aws:region")
    assert "missing" not in stderr


def test_an_empty_secure_value_is_refused(project):
    refused(run_stack(project, dev_with("  aws-compute:server.backupRetention: 3",
                                        "  aws-compute:server.backupRetention: 3\n  aws-compute:server.sshPublicKey:\n"
                                        "    secure: ''")),
            "aws-compute:server.sshPublicKey = secure: (empty)")


def test_a_secure_value_that_is_not_ciphertext_is_refused(project):
    refused(run_stack(project, dev_with("  aws-compute:server.backupRetention: 3",
                                        "  aws-compute:server.backupRetention: 3\n  aws-compute:server.sshPublicKey:\n"
                                        "    secure: ssh-ed25519 my key")),
            "aws-compute:server.sshPublicKey", "not ciphertext", "pulumi config set --secret")


def test_infinity_is_refused(project):
    refused(run_stack(project, dev_with("fleet.maxSize: 3", "fleet.maxSize: .inf")),
            "aws-compute:fleet.maxSize = inf", "infinity")


def test_a_bare_key_is_namespaced_with_the_project_name(project):
    refused(run_stack(project, dev_with("  aws-compute:network.azCount: 2", "  network.azCount: 9")),
            "aws-compute:network.azCount = 9")


def test_a_text_where_a_list_is_declared_is_refused_in_yamls_words(project):
    text = dev_with("  aws-compute:network.azCount: 2",
                    "  aws-compute:network.azCount: 2\n  aws-compute:network.interfaceEndpoints: ssm")
    refused(run_stack(project, text), "aws-compute:network.interfaceEndpoints", "a list expected, not text")


# --- Keys nothing reads ---------------------------------------------------------------------------------------

def test_a_misspelt_section_key_gets_the_closest_key(project):
    refused(run_stack(project, dev_with("service.desiredTasks: 1", "service.desiredCount: 1")),
            "aws-compute:service.desiredCount", "did you mean aws-compute:service.desiredTasks?")


def test_keys_no_program_reads_are_refused_with_the_closest_known_key_for_any_program():
    stderr = refused(preflight("--stack", "typo", "--project-dir", str(READS)), "nothing reads")
    assert "reads:greting (line 4): the program never reads this key; did you mean reads:greeting?" in stderr
    assert "aws:regoin (line 5): the aws provider has no such setting; did you mean aws:region?" in stderr
    assert "aws-compute2:network.azCount (line 6): namespace 'aws-compute2' is neither the project's" in stderr


def test_a_stack_whose_keys_are_all_read_is_not_refused_for_them():
    run = preflight("--stack", "good", "--project-dir", str(READS))
    assert run.returncode in (0, 1), run.stderr
    assert "nothing reads" not in run.stderr


def test_a_namespace_typo_with_a_colon_is_refused_with_the_dotted_key(project):
    text = dev_with("  aws-compute:network.azCount: 2", "  aws-compute:network.azCount: 2\n  network:azCount: 3")
    refused(run_stack(project, text), "network:azCount", "did you mean aws-compute:network.azCount?")


# --- Refuse what cannot work ------------------------------------------------------------------------------------

def test_a_misspelt_region_is_refused_with_the_closest_regions(project):
    refused(run_stack(project, dev_with("aws:region: us-east-1", "aws:region: us-esat-1")),
            "aws:region", "not an AWS region", "us-east-1")


def test_a_misspelt_instance_type_is_refused_with_the_closest_types(project):
    refused(run_stack(project, dev_with("    - t3.micro\n", "    - t3.mirco\n")),
            "aws-compute:fleet.instanceTypes", "'t3.mirco' is not an EC2 instance type", "did you mean t3.micro")


def test_graviton_types_with_the_x86_64_ami_are_refused(project):
    text = dev_with("    - t3.micro\n    - t3a.micro\n", "    - t4g.micro\n    - m7g.medium\n")
    refused(run_stack(project, text), "aws-compute:fleet.instanceTypes", "arm64 types",
            "aws-compute:fleet.amiParameter names an x86_64 AMI")


def test_a_fleet_mixing_architectures_under_one_ami_is_refused(project):
    refused(run_stack(project, dev_with("    - t3.micro\n", "    - t4g.micro\n")),
            "aws-compute:fleet.instanceTypes", "mixes arm64 (t4g.micro) and x86_64 (t3a.micro)")


def test_a_stack_name_too_long_for_the_lambda_function_name_is_a_config_error(project):
    refused(run_stack(project, DEV, stack="feature-" + "x" * 40),
            "stack name", "Lambda allows 64 characters", "at most 42")


def test_too_many_tags_give_the_count_and_the_limit_not_the_tags(project):
    tags = "".join(f"    - K{i}=v\n" for i in range(41))
    stderr = refused(run_stack(project, dev_with("    - CostCenter=platform-dev\n", tags)),
                     "41 tags, 1 over the limit of 40", "(41 items)")
    assert "K40=v" not in stderr


def test_a_tag_value_too_long_says_it_is_the_value_and_by_how_much(project):
    refused(run_stack(project, dev_with("CostCenter=platform-dev", "CostCenter=" + "x" * 300)),
            "the tag value of 'CostCenter' is 300 characters, 44 over AWS's limit of 256")
