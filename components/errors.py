"""How config errors leave the program: one clear message, no Python traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pulumi

from .config import ConfigError


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Turn a ConfigError into pulumi.RunError, which the CLI prints without a stack trace."""
    try:
        yield
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
