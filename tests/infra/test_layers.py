"""The layers build offline-able for arm64 Lambda, hold what each handler imports, and fit 250 MB.

Downloads wheels once (pip's cache is reused across runs); skips only when the package registry
cannot be reached, and says so.

The layers are arm64 wheels for the Lambda runtime's CPython, which this machine cannot import. So
what a handler needs is recorded by importing it here, in a fresh interpreter with AWS's settings
(`trace_imports.py`: the third-party modules the repository's own code imports, eagerly or on its
AWS code path), and each of those must be present in the function's layers (or be shipped by the
Lambda runtime). Each distribution in a function's layers must also find its own requirements there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from infra.layer_plan import LAYER_NAMES, layers_for
from reviva.topology import FUNCTIONS, FunctionSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACER = Path(__file__).with_name("trace_imports.py")
NETWORK_ERRORS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Max retries exceeded",
    "Network is unreachable",
    "ConnectionError",
    "ProxyError",
)
# Lambda's python3.14 arm64 environment, for evaluating requirement markers.
LAMBDA_MARKER_ENVIRONMENT = {
    "python_version": "3.14",
    "python_full_version": "3.14.0",
    "implementation_name": "cpython",
    "implementation_version": "3.14.0",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "extra": "",
}
# What each function does at its first invocation in AWS beyond importing its handler (building its
# adapters), so the lazy imports on the AWS path are recorded as well. Offline: clients are only built.
WARM_UP = {
    "ingest": "from reviva.composition import current_composition; current_composition().ingest",
    "enrich": "from reviva.composition import current_composition; current_composition().enrich",
    "query": (
        "from reviva.composition import current_composition\n"
        "current_composition().query; current_composition().analytics"
    ),
}
# The environment of a deployed function, as far as the imports depend on it (see infra/components).
AWS_ENVIRONMENT = {
    "LAKE_CATALOG": "glue",
    "ANALYTICS_ENGINE": "athena",
    "ATHENA_WORKGROUP": "reviva-prod",
    "LAKE_BUCKET": "reviva-lake",
    "REVIVA_STAGE": "prod",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    # A literal key instead of a secret ARN: building adapters must not call Secrets Manager.
    "REVIVA_PSEUDONYMIZATION_KEY": "trace-imports-only",
}


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layers_build", REPO_ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every layer, built into a temporary folder: base first, the others on top of it in parallel."""
    build = _build_module()
    outs = {name: tmp_path_factory.mktemp(f"layer-{name}") for name in LAYER_NAMES}

    def one(name: str) -> str | None:
        try:
            build.build_layer(name, out_dir=outs[name], capture=True, base_dir=outs["base"])
        except subprocess.CalledProcessError as error:
            return f"{error.stdout or ''}{error.stderr or ''}"
        return None

    def check(failures: dict[str, str]) -> None:
        for name, output in failures.items():
            if any(marker in output for marker in NETWORK_ERRORS):
                pytest.skip(
                    f"the package registry is unreachable, layer {name} cannot be built: {output[-300:]}"
                )
            raise AssertionError(f"layer {name}: {output}")

    check({"base": output} if (output := one("base")) else {})
    stacked = [name for name in LAYER_NAMES if name != "base"]
    # The stacked layers' pip runs are independent; in parallel they take as long as the slowest.
    with ThreadPoolExecutor(max_workers=len(stacked)) as pool:
        check({name: out for name, out in zip(stacked, pool.map(one, stacked), strict=True) if out})
    for out in outs.values():
        assert (out / "python").is_dir()
    return outs


@pytest.fixture(scope="module")
def sizes(built: dict[str, Path]) -> dict[str, int]:
    build = _build_module()
    return {name: build.directory_size(out) for name, out in built.items()}


def handler_imports(spec: FunctionSpec) -> dict[str, list[str]]:
    """Third-party top-level module → the repository modules importing it, on the AWS code path."""
    result = subprocess.run(
        [sys.executable, str(TRACER), spec.handler_module, WARM_UP.get(spec.name, "")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), **AWS_ENVIRONMENT},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    imported: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return imported


def provides(site: Path, module: str) -> bool:
    """Whether a layer's site-packages holds the top-level module (a package, a .py, an extension)."""
    return (
        (site / module / "__init__.py").is_file()
        or (site / module).is_dir()
        or (site / f"{module}.py").is_file()
        or any(site.glob(f"{module}.*.so"))
    )


def missing_modules(
    imported: dict[str, list[str]], sites: list[Path], runtime_provided: tuple[str, ...]
) -> dict:
    """The imported modules none of `sites` provides (and the Lambda runtime does not ship)."""
    return {
        module: importers
        for module, importers in imported.items()
        if module not in runtime_provided and not any(provides(site, module) for site in sites)
    }


def unmet_requirements(sites: list[Path], runtime_provided: tuple[str, ...]) -> list[str]:
    """Unconditional requirements (on Lambda's platform) of the layers' distributions that they lack."""
    build = _build_module()
    installed: dict[str, tuple[str, Path]] = {}
    for site in sites:
        installed.update(build.installed_distributions(site))
    available = set(installed) | {build.normalize(name) for name in runtime_provided}
    unmet: list[str] = []
    for name, (_, info) in sorted(installed.items()):
        for line in (info / "METADATA").read_text(errors="replace").splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.removeprefix("Requires-Dist:").strip())
            marker: Marker | None = requirement.marker
            if marker is not None and not marker.evaluate(dict(LAMBDA_MARKER_ENVIRONMENT)):
                continue
            if build.normalize(requirement.name) not in available:
                unmet.append(f"{name} needs {requirement}")
    return unmet


@pytest.mark.slow
def test_ml_layer_holds_arm64_scikit_learn_within_the_limit(
    built: dict[str, Path], sizes: dict[str, int]
) -> None:
    build = _build_module()
    assert 0 < sizes["ml"] <= build.LAMBDA_UNZIPPED_LIMIT_BYTES
    assert list((built["ml"] / "python" / "sklearn").glob("**/*aarch64-linux-gnu.so"))


@pytest.mark.slow
def test_every_function_fits_with_its_layers(sizes: dict[str, int]) -> None:
    build = _build_module()
    for spec in FUNCTIONS:
        total = sum(sizes[layer] for layer in layers_for(spec))
        # The function's own asset (its folder + reviva/) is about 1 MB; keep 5 MB of headroom.
        assert total + 5 * 1024 * 1024 <= build.LAMBDA_UNZIPPED_LIMIT_BYTES, (spec.name, total)


@pytest.mark.slow
def test_stacked_layers_leave_out_what_the_base_layer_ships(built: dict[str, Path]) -> None:
    # Two copies of one package in /opt/python waste space and, at different versions, mix files.
    build = _build_module()
    base = build.installed_distributions(built["base"] / "python")
    assert "pydantic" in base
    for name in LAYER_NAMES:
        if name != "base":
            assert not base.keys() & build.installed_distributions(built[name] / "python").keys(), name
    assert not list((built["lake"] / "python").rglob("*.h")), "C headers are build-time only"


@pytest.mark.slow
@pytest.mark.parametrize("spec", FUNCTIONS, ids=[spec.name for spec in FUNCTIONS])
def test_each_function_s_layers_hold_every_module_its_handler_imports(
    built: dict[str, Path], spec: FunctionSpec
) -> None:
    build = _build_module()
    sites = [built[layer] / "python" for layer in layers_for(spec)]
    imported = handler_imports(spec)
    assert "aws_lambda_powertools" in imported  # the trace saw the handler's own imports
    assert missing_modules(imported, sites, build.RUNTIME_PROVIDED) == {}
    assert unmet_requirements(sites, build.RUNTIME_PROVIDED) == []


@pytest.mark.slow
def test_the_import_check_fails_for_a_layer_set_that_misses_a_module(built: dict[str, Path]) -> None:
    # The query function's Athena path qualifies its SQL with sqlglot: base alone does not do.
    build = _build_module()
    query = next(spec for spec in FUNCTIONS if spec.name == "query")
    imported = handler_imports(query)
    assert "sqlglot" in imported
    assert "duckdb" not in imported, "DuckDB is the local engine; Athena runs the SQL in AWS"
    missing = missing_modules(imported, [built["base"] / "python"], build.RUNTIME_PROVIDED)
    assert {"sqlglot", "pyiceberg", "pyarrow"} <= missing.keys()
    assert unmet_requirements([built["lake"] / "python"], build.RUNTIME_PROVIDED)  # pydantic is in base
