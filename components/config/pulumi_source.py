"""Read the raw config the way the Pulumi language host hands it to the program."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from .stack import StackConfig, load_stack_config


def read_pulumi_config() -> dict[str, Any]:
    """Every ``namespace:key`` the program was given, from PULUMI_CONFIG and any set in-process."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def stack_config_from_pulumi() -> StackConfig:
    return load_stack_config(read_pulumi_config(), pulumi.get_stack())
