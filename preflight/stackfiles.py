"""Reads Pulumi.yaml and Pulumi.<stack>.yaml and flattens the config exactly as the CLI passes it.

The CLI hands the program a map of ``namespace:key`` to string: strings raw, everything else
JSON-encoded. Project-level defaults come first, the stack file's values override them. A ``secure:``
value cannot be decrypted offline and becomes a placeholder secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "preflight-placeholder-secret"


class StackFileError(Exception):
    pass


@dataclass
class StackFiles:
    project: str
    stack: str
    project_dir: Path
    main: str
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)


def marshal_value(value: Any) -> str:
    """Plaintext.marshalText: a string raw, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def qualify(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise StackFileError(f"{path.name} not found in {path.parent}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise StackFileError(f"{path.name} must be a YAML mapping")
    return loaded


def read_stack_files(project_dir: Path, stack: str) -> StackFiles:
    project_file = _load_yaml(project_dir / "Pulumi.yaml")
    project = project_file.get("name")
    if not isinstance(project, str):
        raise StackFileError("Pulumi.yaml has no project name")
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        available = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise StackFileError(f"no stack file Pulumi.{stack}.yaml; stacks here: {', '.join(available) or 'none'}")
    stack_file = _load_yaml(stack_path)
    result = StackFiles(project, stack, project_dir, str(project_file.get("main") or "__main__.py"))
    for key, declared in (project_file.get("config") or {}).items():
        if isinstance(declared, dict) and ("default" in declared or "value" in declared):
            result.config[qualify(key, project)] = marshal_value(declared.get("value", declared.get("default")))
        elif not isinstance(declared, dict):
            result.config[qualify(key, project)] = marshal_value(declared)
    for key, value in (stack_file.get("config") or {}).items():
        full = qualify(key, project)
        if isinstance(value, dict) and set(value) == {"secure"}:
            result.config[full] = SECRET_PLACEHOLDER
            result.secret_keys.append(full)
        else:
            result.config[full] = marshal_value(value)
    return result
