"""The program runs as `pulumi preview` runs it, through the CLI, on small programs of its own: callbacks on outputs
no fake fills, a random password, a stack reference, a packaged component and program errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from preflight.recorder import UNKNOWN, reveal, run_program
from preflight.stackfiles import read_stack_files

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "tests" / "fixtures" / "programs"


def preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def document_of(program: str, *args: str, stack: str = "t") -> dict:
    run = preflight("--stack", stack, "--project-dir", str(PROGRAMS / program), "--format", "json", *args)
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def violations_on(document: dict, name: str) -> dict[str, str]:
    return {v["policy"]: v["enforcementLevel"] for v in document["violations"] if v["resourceName"] == name}


@pytest.fixture(scope="module")
def unfaked() -> dict:
    return document_of("unfaked-outputs")


# --- Outputs the provider computes -----------------------------------------------------------------------

def test_callbacks_on_outputs_no_fake_fills_are_skipped_and_the_outputs_are_unknown(unfaked):
    assert unfaked["outputs"] == {"invoke_from_stage": UNKNOWN, "upper_name": UNKNOWN, "certificate": UNKNOWN}
    assert unfaked["previewAs"] == "deployed"


def test_the_text_report_shows_an_unknown_output_as_unknown():
    run = preflight("--stack", "t", "--project-dir", str(PROGRAMS / "unfaked-outputs"))
    assert run.returncode == 1, run.stderr
    assert "    upper_name: [unknown]" in run.stdout


def test_a_plaintext_password_from_a_random_password_is_flagged_not_recorded_as_null(unfaked):
    [task] = [r for r in unfaked["resources"] if r["name"] == "app"]
    assert '"value": null' not in json.dumps(task["inputs"])
    assert violations_on(unfaked, "app")["ecs-no-secrets-in-container-environment"] == "mandatory"


def test_in_the_preview_of_a_new_stack_the_password_is_unknown_and_cannot_be_verified():
    document = document_of("unfaked-outputs", "--preview-as", "new")
    [task] = [r for r in document["resources"] if r["name"] == "app"]
    assert task["inputs"]["containerDefinitions"] == UNKNOWN
    assert violations_on(document, "app")["ecs-no-secrets-in-container-environment"] == "advisory"
    assert "cannot be verified during preview" in next(
        v["message"] for v in document["violations"]
        if v["resourceName"] == "app" and v["policy"] == "ecs-no-secrets-in-container-environment")


def test_in_the_preview_of_a_new_stack_ids_are_unknown_and_inputs_built_from_them_too(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: ids\nruntime: python\n")
    (tmp_path / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi_aws as aws
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.1.0/24", tags={"Vpc": vpc.arn.apply(str.upper)})
    """))
    files = read_stack_files(tmp_path, "t")
    new = run_program(tmp_path, files.project, "t", files.config, files.secret_keys, files.main, preview_as="new")
    deployed = run_program(tmp_path, files.project, "t", files.config, files.secret_keys, files.main)
    [subnet] = new.of_type("aws:ec2/subnet:Subnet")
    assert subnet.inputs["vpcId"] == UNKNOWN and subnet.inputs["tags"]["Vpc"] == UNKNOWN
    assert subnet.inputs["cidrBlock"] == "10.0.1.0/24"
    [vpc] = deployed.of_type("aws:ec2/vpc:Vpc")
    assert deployed.of_type("aws:ec2/subnet:Subnet")[0].inputs["vpcId"] == vpc.id != UNKNOWN


# --- Stack references --------------------------------------------------------------------------------------

def test_a_stack_reference_without_outputs_is_unknown_and_named_in_the_report():
    document = document_of("stack-reference")
    [group] = [r for r in document["resources"] if r["name"] == "app"]
    assert group["inputs"]["vpcId"] == UNKNOWN
    assert document["stackReferences"][0] == {
        "name": "acme/network/prod", "outputs": "unknown",
        "urn": "urn:pulumi:t::stack-reference::pulumi:pulumi:StackReference::acme/network/prod"}


def test_a_stack_reference_reads_the_outputs_given_with_stack_outputs(tmp_path):
    outputs = tmp_path / "network.json"
    outputs.write_text(json.dumps({"vpcId": "vpc-0123456789abcdef0", "tags": {"Team": "network"}}))
    document = document_of("stack-reference", "--stack-outputs", f"acme/network/prod={outputs}")
    [group] = [r for r in document["resources"] if r["name"] == "app"]
    assert group["inputs"]["vpcId"] == "vpc-0123456789abcdef0"
    assert group["inputs"]["tags"] == {"Team": "network", "Name": "app"}
    assert document["outputs"] == {"vpc_id": "vpc-0123456789abcdef0"}


def test_stack_outputs_without_a_name_are_refused_with_the_form_allowed():
    run = preflight("--stack", "t", "--project-dir", str(PROGRAMS / "stack-reference"), "--stack-outputs", "x.json")
    assert run.returncode == 2
    assert "expected NAME=FILE.json" in run.stderr


# --- Packaged components ----------------------------------------------------------------------------------

def test_a_packaged_component_is_named_as_unchecked_and_counted_as_judged_by_no_policy():
    document = document_of("packaged-component")
    assert [(c["type"], c["name"], c["source"]) for c in document["uncheckedComponents"]] == \
        [("awsx:ec2:Vpc", "main", {"file": "__main__.py", "line": 16})]
    assert document["summary"]["uncheckedComponents"] == 1
    assert {"type": "awsx:ec2:Vpc", "count": 1, "names": ["main"]} in document["coverage"]["unjudged"]
    [group] = [r for r in document["resources"] if r["name"] == "app"]
    assert group["inputs"]["vpcId"] == UNKNOWN


def test_the_text_report_names_the_unchecked_component_in_its_summary():
    run = preflight("--stack", "t", "--project-dir", str(PROGRAMS / "packaged-component"))
    assert "    - awsx:ec2:Vpc: main  (__main__.py:16)" in run.stdout
    assert run.stdout.rstrip().endswith("1 packaged component unchecked")


def test_a_program_of_packaged_components_only_is_unchecked_not_passed(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: only-packaged\nruntime: python\n")
    (tmp_path / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi, pulumi_aws as aws
        provider = aws.Provider("aws", region=aws.config.region)
        pulumi.ComponentResource("awsx:ecs:FargateService", "web", {"cluster": "c"},
                                 pulumi.ResourceOptions(providers=[provider]), remote=True)
    """))
    run = preflight("--stack", "t", "--project-dir", str(tmp_path), "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["summary"]["verdict"] == "unchecked"


# --- Errors say where ------------------------------------------------------------------------------------

def test_a_bug_in_the_program_names_its_own_file_and_line_and_the_caller():
    run = preflight("--stack", "t", "--project-dir", str(PROGRAMS / "program-error"))
    assert run.returncode == 2
    assert run.stderr.startswith("error: the program failed at naming.py:7 (in instance_type), called from "
                                 "__main__.py:10\n    return SIZES[size]\n  KeyError: 'medium'")
    assert "Traceback" not in run.stderr and "site-packages" not in run.stderr


def test_a_plain_invoke_with_an_unknown_argument_says_the_value_was_unknown_during_preview():
    run = preflight("--stack", "unknown", "--project-dir", str(PROGRAMS / "program-error"), "--preview-as", "new")
    assert run.returncode == 2
    assert "the program failed at __main__.py:18" in run.stderr
    assert ("__main__.py:18: the invoke 'aws:ec2/getSubnet:getSubnet' had an argument that is unknown during "
            "preview") in run.stderr


def test_a_secret_random_result_stays_secret_in_the_recording(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: pw\nruntime: python\n")
    (tmp_path / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi_aws as aws, pulumi_random as random
        password = random.RandomPassword("pw", length=20)
        aws.ssm.Parameter("p", type="String", value=password.result)
    """))
    files = read_stack_files(tmp_path, "t")
    recording = run_program(tmp_path, files.project, "t", files.config, files.secret_keys, files.main)
    [parameter] = recording.of_type("aws:ssm/parameter:Parameter")
    assert reveal(parameter.inputs, "[secret]")["value"] == "[secret]"
    assert len(reveal(parameter.inputs)["value"]) == 20
