"""Every recorded resource says which program line created it, from the position the SDK sends with each
registration (RegisterResourceRequest.sourcePosition and stackTrace)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from preflight.recorder import Recording, run_program
from preflight.stackfiles import read_stack_files


def record(project: Path, program: str, files: dict[str, str] | None = None) -> Recording:
    (project / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (project / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (project / "__main__.py").write_text(textwrap.dedent(program))
    for name, text in (files or {}).items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text))
    stack = read_stack_files(project, "t")
    return run_program(project, stack.project, "t", stack.config, stack.secret_keys, stack.main)


def source_of(recording: Recording, name: str) -> dict:
    [found] = [r for r in recording.resources if r.name == name]
    return found.source


def test_a_resource_points_at_the_line_of_the_program_that_created_it(tmp_path):
    recording = record(tmp_path, """
        import pulumi_aws as aws

        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    """)
    assert source_of(recording, "vpc") == {"file": "__main__.py", "line": 4}


def test_a_resource_made_in_a_module_of_the_program_points_into_that_module(tmp_path):
    recording = record(tmp_path, """
        from infra import network
        network.make_vpc("vpc")
    """, {"infra/__init__.py": "", "infra/network.py": """
        import pulumi_aws as aws


        def make_vpc(name):
            return aws.ec2.Vpc(name, cidr_block="10.0.0.0/16")
    """})
    assert source_of(recording, "vpc") == {"file": "infra/network.py", "line": 6}


def test_a_component_child_points_at_the_component_and_the_component_at_its_caller(tmp_path):
    recording = record(tmp_path, """
        import pulumi
        import pulumi_aws as aws

        class Box(pulumi.ComponentResource):
            def __init__(self, name):
                super().__init__("demo:box:Box", name)
                aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self))

        Box("box")
    """)
    assert source_of(recording, "box-bucket") == {"file": "__main__.py", "line": 8}
    assert source_of(recording, "box") == {"file": "__main__.py", "line": 10}


def test_a_resource_an_installed_library_creates_points_at_the_programs_call(tmp_path):
    recording = record(tmp_path, """
        import sys
        sys.path.insert(0, "vendor/site-packages")
        import buckets
        buckets.logs_bucket("logs")
    """, {"vendor/site-packages/buckets.py": """
        import pulumi_aws as aws

        def logs_bucket(name):
            return aws.s3.Bucket(name)
    """})
    assert source_of(recording, "logs") == {"file": "__main__.py", "line": 5}
