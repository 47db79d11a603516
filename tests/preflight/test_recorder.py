"""The recorder: what the engine would see for a program, from small programs written for each behaviour."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from preflight.recorder import SECRET_SIG, SIG_KEY, ProgramError, reveal, run_program
from preflight.stackfiles import SECRET_PLACEHOLDER, read_stack_files


def record(tmp_path: Path, program: str, stack_config: str = "", stack: str = "t"):
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text("config:\n  aws:region: eu-west-1\n" + stack_config)
    (tmp_path / "__main__.py").write_text(textwrap.dedent(program))
    files = read_stack_files(tmp_path, stack)
    return run_program(tmp_path, files.project, stack, files.config, files.secret_keys, files.main)


VPC_AND_SUBNET = """
    import pulumi_aws as aws
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.1.0/24")
"""


def test_urns_leave_the_root_stack_type_out_as_the_engine_does(tmp_path):
    recording = record(tmp_path, VPC_AND_SUBNET)
    assert {r.urn for r in recording.resources if not r.type.startswith("pulumi:providers")} == {
        "urn:pulumi:t::demo::aws:ec2/vpc:Vpc::vpc", "urn:pulumi:t::demo::aws:ec2/subnet:Subnet::subnet"}


def test_a_child_urn_carries_its_parents_type_chain(tmp_path):
    recording = record(tmp_path, """
        import pulumi, pulumi_aws as aws
        class Box(pulumi.ComponentResource):
            def __init__(self, name):
                super().__init__("demo:box:Box", name)
                aws.ec2.Vpc(f"{name}-vpc", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(parent=self))
        Box("box")
    """)
    vpc = recording.of_type("aws:ec2/vpc:Vpc")[0]
    assert vpc.urn == "urn:pulumi:t::demo::demo:box:Box$aws:ec2/vpc:Vpc::box-vpc"
    assert vpc.parent == "urn:pulumi:t::demo::demo:box:Box::box"


def test_one_default_provider_per_package_carries_the_stack_region(tmp_path):
    recording = record(tmp_path, VPC_AND_SUBNET)
    [provider] = [r for r in recording.resources if r.type == "pulumi:providers:aws"]
    assert provider.name.startswith("default_7_")
    assert provider.inputs["region"] == "eu-west-1"
    refs = {r.options["provider"] for r in recording.resources if r.type.startswith("aws:ec2")}
    assert refs == {f"{provider.urn}::{provider.id}"}


def test_resource_references_reach_the_inputs_as_ids(tmp_path):
    recording = record(tmp_path, VPC_AND_SUBNET)
    vpc, subnet = recording.of_type("aws:ec2/vpc:Vpc")[0], recording.of_type("aws:ec2/subnet:Subnet")[0]
    assert vpc.id.startswith("vpc-")
    assert subnet.inputs["vpcId"] == vpc.id
    assert subnet.property_dependencies["vpcId"] == [vpc.urn]


def test_a_secure_config_value_becomes_a_secret_placeholder(tmp_path):
    recording = record(tmp_path, """
        import pulumi, pulumi_aws as aws
        token = pulumi.Config().require_secret("token")
        aws.ssm.Parameter("p", type="SecureString", value=token)
    """, "  demo:token:\n    secure: AAABAKm0ZXhhbXBsZQ==\n")
    parameter = recording.of_type("aws:ssm/parameter:Parameter")[0]
    assert parameter.inputs["value"][SIG_KEY] == SECRET_SIG
    assert reveal(parameter.inputs["value"]) == SECRET_PLACEHOLDER
    assert reveal(parameter.inputs, "[secret]")["value"] == "[secret]"


def test_stack_transforms_registered_by_the_program_change_what_is_recorded(tmp_path):
    recording = record(tmp_path, """
        import pulumi, pulumi_aws as aws
        def tag_everything(args):
            props = dict(args.props)
            props["tags"] = {"Owner": "platform"}
            return pulumi.ResourceTransformResult(props, args.opts)
        pulumi.runtime.register_resource_transform(tag_everything)
        aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    """)
    assert recording.of_type("aws:ec2/vpc:Vpc")[0].inputs["tags"] == {"Owner": "platform"}


def test_resource_options_are_recorded(tmp_path):
    recording = record(tmp_path, """
        import pulumi, pulumi_aws as aws
        aws.ebs.Volume("data", availability_zone="eu-west-1a", size=10, encrypted=True,
                       opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True, ignore_changes=["tags"]))
    """)
    options = recording.of_type("aws:ebs/volume:Volume")[0].options
    assert (options["protect"], options["retainOnDelete"], options["ignoreChanges"]) == (True, True, ["tags"])


def test_invokes_are_answered_for_the_stacks_region(tmp_path):
    recording = record(tmp_path, """
        import pulumi, pulumi_aws as aws
        pulumi.export("zones", aws.get_availability_zones(state="available").names)
    """)
    assert recording.outputs["zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def test_stack_outputs_are_recorded(tmp_path):
    recording = record(tmp_path, VPC_AND_SUBNET + "\n    import pulumi\n    pulumi.export('answer', 42)\n")
    assert recording.outputs["answer"] == 42


def test_a_program_bug_is_a_program_error_naming_the_exception(tmp_path):
    with pytest.raises(ProgramError, match="ZeroDivisionError"):
        record(tmp_path, "x = 1 / 0\n")


def test_an_invoke_the_fakes_cannot_answer_is_a_program_error_naming_it(tmp_path):
    with pytest.raises(ProgramError, match="getSecretVersion"):
        record(tmp_path, """
            import pulumi_aws as aws
            aws.secretsmanager.get_secret_version(secret_id="x")
        """)


def test_resources_of_an_explicit_provider_get_arns_in_its_region(tmp_path):
    recording = record(tmp_path, """
        import pulumi, pulumi_aws as aws
        dr = aws.Provider("dr", region="eu-central-1")
        aws.kms.Key("dr-key", opts=pulumi.ResourceOptions(provider=dr))
        aws.kms.Key("key")
    """)
    arns = {r.name: r.outputs["arn"] for r in recording.of_type("aws:kms/key:Key")}
    assert arns["dr-key"].startswith("arn:aws:kms:eu-central-1:123456789012:key/")
    assert arns["key"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")


def test_a_project_imports_its_own_packages_even_where_the_preflight_has_one_of_that_name(tmp_path):
    import components  # the preflight's own package of that name, already imported

    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "__init__.py").write_text("WHERE = 'the project'\n")
    recording = record(tmp_path, """
        import pulumi, components
        pulumi.export("where", components.WHERE)
    """)
    assert recording.outputs["where"] == "the project"
    assert not hasattr(components, "WHERE")
    import sys
    assert sys.modules["components"] is components, "the preflight's package is back after the run"
