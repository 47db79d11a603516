"""Which config keys the program read, and the stack file's keys that nothing reads.

Every read of a Pulumi Python program goes through ``pulumi.runtime.config.get_config`` (``pulumi.Config``'s
get, require, get_int, get_bool, get_object, get_secret... all call it with the full key), so recording those
calls records the program's reads, whatever the program. A key that nothing reads changes nothing and is
almost always a typo: it is refused with the closest key that is read or known.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pulumi.config as sdk_config
from pulumi.runtime import config as runtime_config

from .stackfiles import StackFileError, StackFiles, closest

ENGINE_NAMESPACE = "pulumi"  # pulumi:tags, pulumi:disable-default-providers: read by the engine itself
_PROVIDER_KEY = re.compile(r"__config__\.get\w*\('([^']+)'")


@contextmanager
def recording_config_reads() -> Iterator[set[str]]:
    """Yield the set of full keys the program asks for while the block runs."""
    reads: set[str] = set()
    original = runtime_config.get_config

    def get_config(key: str):
        reads.add(key)
        return original(key)

    runtime_config.get_config = sdk_config.get_config = get_config
    try:
        yield reads
    finally:
        runtime_config.get_config = sdk_config.get_config = original


def provider_config_keys(package: str) -> list[str] | None:
    """The config keys a provider package declares (its generated ``config/vars.py``), or None if unknown."""
    spec = importlib.util.find_spec(f"pulumi_{package.replace('-', '_')}")
    declarations = Path(spec.origin).parent / "config" / "vars.py" if spec and spec.origin else None
    if declarations is None or not declarations.exists():
        return None
    return sorted(set(_PROVIDER_KEY.findall(declarations.read_text())))


def unread_key_problems(files: StackFiles, reads: Iterable[str], packages: Iterable[str]) -> list[str]:
    """The stack file's keys that neither the program nor a provider it uses reads, each with the closest key."""
    reads, packages = set(reads), set(packages)
    project_keys = sorted({k for k in reads | set(files.declared) if k.startswith(f"{files.project}:")})
    problems = []
    for key, written in sorted(files.written.items()):
        namespace, name = key.split(":", 1)
        where = f"{key} (line {written.line})" if written.line else key
        if namespace == files.project:
            if key not in reads:
                problems.append(f"{where}: the program never reads this key{_hint(key, project_keys)}")
        elif namespace in packages:
            known = provider_config_keys(namespace)
            if known is not None and name not in known:
                hint = closest(name, known)
                problems.append(f"{where}: the {namespace} provider has no such setting"
                                + (f"; did you mean {namespace}:{hint}?" if hint else ""))
        elif namespace != ENGINE_NAMESPACE:
            candidates = project_keys + [f"{p}:{n}" for p in sorted(packages) for n in provider_config_keys(p) or []]
            problems.append(f"{where}: namespace '{namespace}' is neither the project's ({files.project}) nor a "
                            f"provider's the program uses ({', '.join(sorted(packages)) or 'none'})"
                            f"{_hint(key, candidates)}")
    return problems


def packages_used(resource_types: Iterable[str]) -> set[str]:
    """The provider packages behind the recorded resources (``aws`` for ``pulumi:providers:aws``)."""
    return {t.removeprefix("pulumi:providers:") for t in resource_types if t.startswith("pulumi:providers:")}


def refuse_unread_keys(files: StackFiles, reads: Iterable[str], resource_types: Iterable[str]) -> None:
    problems = unread_key_problems(files, reads, packages_used(resource_types))
    if problems:
        count = len(problems)
        raise StackFileError(f"Pulumi.{files.stack}.yaml sets {count} key{'s' if count != 1 else ''} that nothing "
                             f"reads, so {'they change' if count != 1 else 'it changes'} nothing:\n"
                             + "\n".join(f"  - {p}" for p in problems))


def _hint(key: str, candidates: list[str]) -> str:
    match = closest(key, [c for c in candidates if c != key])
    return f"; did you mean {match}?" if match else ""
