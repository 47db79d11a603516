"""This project's checks for the preflight (declared in pyproject.toml, [tool.pulumi-preflight]).

The preflight imports no components/: it runs these as the check of this project alone. Any other program is
checked without them, with the policy pack's default enforcement levels.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config import ConfigError, StackConfig, load_stack_config
from components.config.readiness import deploy_prerequisites


def validate(config: Mapping[str, str], stack: str, secret_keys: list[str]) -> StackConfig:
    """The stack's config as one validated StackConfig; a ValueError naming every bad key at once."""
    try:
        return load_stack_config(config, stack, secret_keys)
    except ConfigError as error:
        raise ValueError(str(error)) from None


def readiness(config: StackConfig) -> list[dict[str, str]]:
    return deploy_prerequisites(config)


def policy_config(config: StackConfig) -> str:
    """The enforcement levels and waivers of the stack's environment (the key aws-compute:environment)."""
    return f"policies/config/{config.environment}.json"
