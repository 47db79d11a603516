"""Shared fixtures: run a stack's config through the program under mocks with the preflight's recorder."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.recorder import Recording, run_program  # noqa: E402
from preflight.stackfiles import read_stack_files  # noqa: E402


def record_stack(stack: str = "dev", overrides: Mapping[str, str] | None = None,
                 removed: tuple[str, ...] = ()) -> Recording:
    """Run Pulumi.<stack>.yaml (plus ``overrides``, flat ``ns:key`` -> string) through the program."""
    files = read_stack_files(ROOT, stack)
    config = {k: v for k, v in files.config.items() if k not in removed}
    config.update(overrides or {})
    return run_program(ROOT, files.project, stack, config, files.secret_keys, files.main)


@pytest.fixture(scope="session")
def dev_stack() -> Recording:
    return record_stack("dev")


@pytest.fixture(scope="session")
def prod_stack() -> Recording:
    return record_stack("prod")


@pytest.fixture
def stack_with() -> Callable[..., Recording]:
    """Record a variant: ``stack_with("dev", {"aws-compute:network.azCount": "3"})``."""
    return record_stack
