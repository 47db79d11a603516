"""Pulumi.yaml's config block and the README's table are generated from the config sections."""

from __future__ import annotations

import yaml

from components.config import docs


def test_pulumi_yaml_is_what_the_generator_writes():
    assert (docs.ROOT / "Pulumi.yaml").read_text() == docs.project_file_text(), \
        "Pulumi.yaml is stale: run `make docs`"


def test_the_readme_config_table_is_current():
    readme = (docs.ROOT / "README.md").read_text()
    assert docs.readme_with_table(readme) == readme, "README's config reference is stale: run `make docs`"


def test_every_declared_key_has_a_type_a_description_and_a_default():
    declared = yaml.safe_load((docs.ROOT / "Pulumi.yaml").read_text())["config"]
    for key, entry in declared.items():
        assert entry["type"] in ("string", "integer", "boolean", "array"), key
        assert entry["description"], key
        assert "default" in entry, key


def test_the_project_uses_python_with_a_dot_venv_virtualenv():
    project = yaml.safe_load((docs.ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "aws-compute"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_stack_files_use_only_declared_keys():
    declared = set(yaml.safe_load((docs.ROOT / "Pulumi.yaml").read_text())["config"])
    for stack_file in docs.ROOT.glob("Pulumi.*.yaml"):
        keys = yaml.safe_load(stack_file.read_text())["config"]
        ours = {k.split(":", 1)[1] for k in keys if k.startswith("aws-compute:")}
        assert ours <= declared, (stack_file.name, ours - declared)
