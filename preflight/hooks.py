"""A project's own checks, which the preflight runs when the project declares them; a program without runs with none.

A project declares a module of hooks in the ``pyproject.toml`` of its directory (the one holding Pulumi.yaml)::

    [tool.pulumi-preflight]
    hooks = "preflight_hooks"

The module is imported with the project directory first on ``sys.path``, as the program's own modules are.
Each function is optional:

``validate(config, stack, secret_keys) -> object``
    The project's config check, run before the program. ``config`` is the flat ``namespace:key -> text`` map
    Pulumi gives a program; ``secret_keys`` are the keys whose values are opaque placeholders here. Raise
    ``ValueError`` with a message naming the key, the bad value and what is allowed: the preflight prints it
    and exits 2. The returned object is what the other hooks are given.
``readiness(validated) -> list[dict]``
    What the account must offer before ``pulumi up`` can work: ``{"key", "value", "message"}`` entries, shown
    under "Deploy readiness"; they inform and never change the exit code.
``policy_config(validated) -> str``
    The project's policy config (enforcement levels, waivers), a path relative to the project directory. A
    project that declares one is checked with it; any other program gets the pack's default levels, unless
    ``--policy-config`` names a file, which always wins.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLE = "pulumi-preflight"


class HookError(Exception):
    """The project's hooks cannot be loaded, or one of them failed for a reason other than a bad config."""


class ConfigRejected(Exception):
    """The project's own config check refused the stack's config; the message is the project's."""


@dataclass(frozen=True)
class Hooks:
    module: str = ""
    """The declared module, or empty when the project declares none."""
    _validate: Callable[..., Any] | None = None
    _readiness: Callable[[Any], Any] | None = None
    _policy_config: Callable[[Any], Any] | None = None

    def validate(self, config: Mapping[str, str], stack: str, secret_keys: list[str]) -> Any:
        """The project's validated config (None without the hook); ConfigRejected on a bad config."""
        if self._validate is None:
            return None
        try:
            return self._validate(dict(config), stack, list(secret_keys))
        except ValueError as error:
            raise ConfigRejected(str(error)) from None
        except Exception as error:
            raise self._failed("validate", error) from error

    def readiness(self, validated: Any) -> list[dict[str, str]]:
        if self._readiness is None:
            return []
        try:
            return list(self._readiness(validated))
        except Exception as error:
            raise self._failed("readiness", error) from error

    def policy_config(self, validated: Any, project_dir: Path) -> Path | None:
        """The project's own policy config file, or None when the project declares none."""
        if self._policy_config is None:
            return None
        try:
            declared = self._policy_config(validated)
        except Exception as error:
            raise self._failed("policy_config", error) from error
        return project_dir / declared if declared else None

    def _failed(self, name: str, error: Exception) -> HookError:
        return HookError(f"the project's preflight hook {self.module}.{name} failed: {type(error).__name__}: {error}")


NO_HOOKS = Hooks()


def declared_module(project_dir: Path) -> str:
    """The hooks module that ``pyproject.toml`` in ``project_dir`` declares, or empty."""
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return ""
    try:
        table = tomllib.loads(path.read_text()).get("tool", {}).get(TABLE, {})
    except tomllib.TOMLDecodeError as error:
        raise HookError(f"{path} is not valid TOML: {error}") from None
    module = table.get("hooks", "") if isinstance(table, dict) else ""
    if not isinstance(module, str) or (module and not all(part.isidentifier() for part in module.split("."))):
        raise HookError(f"{path}: [tool.{TABLE}] hooks = {module!r} is not a module name; allowed: a dotted "
                        f"Python module name such as \"preflight_hooks\", importable from {project_dir}")
    return module


def load_hooks(project_dir: Path) -> Hooks:
    """The hooks ``project_dir`` declares, imported from there; NO_HOOKS when it declares none."""
    module_name = declared_module(project_dir)
    if not module_name:
        return NO_HOOKS
    saved_path = list(sys.path)
    sys.path.insert(0, str(project_dir))
    _forget_other_copies(module_name, project_dir)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise HookError(f"{project_dir / 'pyproject.toml'} declares the preflight hooks {module_name!r}, which "
                        f"cannot be imported from {project_dir}: {error}") from None
    except Exception as error:
        raise HookError(f"importing the preflight hooks {module_name!r} failed: {type(error).__name__}: {error}") \
            from error
    finally:
        sys.path[:] = saved_path
    return Hooks(module_name, *(_function(module, module_name, name)
                                for name in ("validate", "readiness", "policy_config")))


def _forget_other_copies(module_name: str, project_dir: Path) -> None:
    """Another project's module of the same name, imported earlier in this process, must not stand in."""
    top = module_name.split(".", 1)[0]
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None) or ""
        if name.split(".", 1)[0] == top and location and not Path(location).resolve().is_relative_to(
                project_dir.resolve()):
            del sys.modules[name]


def _function(module: Any, module_name: str, name: str) -> Callable[..., Any] | None:
    value = getattr(module, name, None)
    if value is not None and not callable(value):
        raise HookError(f"the preflight hooks {module_name}.{name} is a {type(value).__name__}, not a function")
    return value
