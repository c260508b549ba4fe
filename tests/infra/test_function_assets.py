"""What a function's asset carries: its own folder and the runtime package, never dev tooling or tests.

`stage_function_source` is what CDK zips for every function; staging each one here (no synth) and
looking at the tree keeps the local runtime, the simulator, the CLI, tests, benchmarks and the cost
model out of Lambda, where they would cost cold-start time and widen what runs with AWS credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.components.functions import stage_function_source
from reviva.topology import FUNCTIONS, FunctionSpec

# Folders that must not appear anywhere in an asset.
FORBIDDEN_FOLDERS = ("reviva_dev", "tests", "bench", "cost", "__pycache__")

# Dev tooling that still lives inside the runtime package until the scripted move to `reviva_dev/`.
DEV_TOOLING_MODULES = ("reviva/local", "reviva/simulate", "reviva/cli.py")

# Run in a fresh interpreter: import the handler from the staged tree alone, then report any project
# module that came from elsewhere (the editable install puts the repository on sys.path too).
IMPORT_PROBE = """
import importlib, os, sys
staged, handler_module = sys.argv[1], sys.argv[2]
sys.path[:] = [staged] + [p for p in sys.path if p and not os.path.isdir(os.path.join(p, "reviva"))]
importlib.import_module(handler_module)
outside = sorted(
    name
    for name, module in sys.modules.items()
    if name.split(".")[0] in ("reviva", "functions", "reviva_dev", "tests", "bench", "cost")
    and not (getattr(module, "__file__", None) or staged).startswith(staged)
)
print("\\n".join(outside))
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every function's asset, staged exactly as CDK stages it."""
    root = tmp_path_factory.mktemp("assets")
    return {spec.name: stage_function_source(spec, root / spec.name / "src") for spec in FUNCTIONS}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_an_asset_holds_no_tests_benchmarks_cost_model_or_dev_package(
    staged: dict[str, Path], spec: FunctionSpec
) -> None:
    tree = staged[spec.name]
    found = sorted(str(path.relative_to(tree)) for path in tree.rglob("*") if path.name in FORBIDDEN_FOLDERS)
    assert found == []
    assert sorted(p.name for p in tree.iterdir()) == ["functions", "reviva"]
    assert not list(tree.rglob("*.pyc"))


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_an_asset_holds_no_dev_tooling(staged: dict[str, Path], spec: FunctionSpec) -> None:
    tree = staged[spec.name]
    assert [module for module in DEV_TOOLING_MODULES if (tree / module).exists()] == []


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_an_asset_imports_its_handler_from_itself_alone(staged: dict[str, Path], spec: FunctionSpec) -> None:
    tree = staged[spec.name]
    environment = {**os.environ, "PYTHONPATH": str(tree), "AWS_REGION": "eu-west-1"}
    probe = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(tree), spec.handler_module],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == [], "modules imported from outside the asset"
