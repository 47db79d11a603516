"""The preflight runs any program without this repository's internals: it never imports components/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(f"preflight.{p.stem}" for p in (ROOT / "preflight").glob("*.py") if p.stem != "__main__")


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_preflight_module_names_components_in_an_import():
    offending = {path.name: sorted(n for n in imported_names(path) if n.split(".")[0] == "components")
                 for path in sorted((ROOT / "preflight").glob("*.py"))}
    assert {name: found for name, found in offending.items() if found} == {}


def test_importing_every_preflight_module_loads_no_components_module(tmp_path):
    script = ("import importlib, sys\n"
              f"for name in {MODULES!r}:\n"
              "    importlib.import_module(name)\n"
              "print(sorted(n for n in sys.modules if n.split('.')[0] == 'components'))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert len(MODULES) > 10
