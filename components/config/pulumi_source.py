"""Read the raw config the way the Pulumi language host hands it to the program."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from .base import PROJECT
from .stack import StackConfig, load_stack_config


def declared_keys() -> list[str]:
    """Every key of the project, ``aws-compute:network.azCount`` and so on."""
    from .docs import all_sections  # here, so that `python -m components.config.docs` runs a fresh module
    return [f"{PROJECT}:{prefix + '.' if prefix else ''}{info.alias or name}"
            for prefix, section in all_sections() for name, info in section.model_fields.items()]


def read_pulumi_config() -> dict[str, Any]:
    """Every ``namespace:key`` the program was given.

    Each declared key and aws:region is read through ``pulumi.Config``, as any program reads its config, so
    that a tool watching the reads (the preflight) sees them; the project's other keys are passed on too,
    so that a misspelt one is reported with the closest declared key.
    """
    given = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    read = {key: pulumi.Config(key.split(":", 1)[0]).get(key.split(":", 1)[1])
            for key in [*declared_keys(), "aws:region"]}
    return {**{k: v for k, v in given.items() if k.startswith(f"{PROJECT}:")},
            **{k: v for k, v in read.items() if v is not None}}


def stack_config_from_pulumi() -> StackConfig:
    raw = read_pulumi_config()
    secret_keys = [key for key in raw if runtime_config.is_config_secret(key)]
    return load_stack_config(raw, pulumi.get_stack(), secret_keys)
