"""`pip install` of this repository gives the console script `pulumi-preflight`, which checks a program in its own
directory with the pack installed beside it, away from this repository (`make install-check` runs this alone).

The wheel is built from a copy of what it packages and installed without its dependencies into a fresh virtualenv
that sees this environment's pinned packages through a .pth file: no registry is needed, and `pip check` proves
the wheel's pins are what this environment holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ("pyproject.toml", "preflight", "policies")
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt", "policies/requirements.txt")


def run(*command: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv with the wheel installed: its bin directory."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in PACKAGED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(ROOT / name, source / name)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input")
    run(*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", work / "dist", source, cwd=work)
    [wheel] = (work / "dist").glob("pulumi_preflight-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    python = venv / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                       cwd=work).stdout.strip())
    (purelib / "shared-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=work)
    return venv / "bin"


def test_the_wheels_dependencies_are_met_by_the_pinned_environment(installed, tmp_path):
    assert "pulumi-preflight" in run(installed / "python", "-m", "pip", "list", cwd=tmp_path).stdout
    done = run(installed / "python", "-m", "pip", "check", cwd=tmp_path, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "No broken requirements found."), done.stdout


def test_the_console_script_shows_its_help(installed, tmp_path):
    done = run(installed / "pulumi-preflight", "--help", cwd=tmp_path)
    assert done.stdout.startswith("usage: pulumi-preflight")
    assert "--policy-config" in done.stdout and "the current directory" in done.stdout


def test_the_installed_script_checks_a_program_in_its_directory_with_the_installed_pack(installed, tmp_path):
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "tests" / "fixtures" / "foreign", shop)
    done = run(installed / "pulumi-preflight", "--stack", "shop", "--format", "json", cwd=shop, check=False)
    assert done.returncode == 1, done.stderr  # the shop breaks mandatory policies at the pack's default levels
    document = json.loads(done.stdout)
    assert document["project"] == "foreign-shop" and document["summary"]["resources"] == 17
    [pack] = document["policyPacks"]
    assert (pack["name"], pack["config"]) == ("aws-compute-guardrails", None)
    assert (shop / pack["path"]).resolve().is_relative_to(installed.parent.resolve())  # relative to the cwd
    assert document["cost"]["monthly"] > 0  # the price table is packaged too


def test_the_installed_preflight_is_the_wheels_not_this_repositorys(installed, tmp_path):
    where = run(installed / "python", "-c", "import preflight, policies; print(preflight.__file__, policies.__file__)",
                cwd=tmp_path).stdout.split()
    assert all(Path(path).resolve().is_relative_to(installed.parent.resolve()) for path in where), where


def test_the_wheel_pins_the_same_versions_as_the_requirements_files():
    pinned = {line.strip() for name in REQUIREMENTS for line in (ROOT / name).read_text().splitlines()}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [d for d in declared["dependencies"] + declared["optional-dependencies"]["diagram"]
            if d not in pinned] == []
