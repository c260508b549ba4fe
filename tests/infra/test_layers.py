"""The layers build offline-able for arm64 Lambda and fit Lambda's 250 MB unzipped limit.

Downloads wheels once (pip's cache is reused across runs); skips only when the package registry
cannot be reached, and says so.
"""

from __future__ import annotations

import importlib.util
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from reviva.topology import FUNCTIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
NETWORK_ERRORS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Max retries exceeded",
    "Network is unreachable",
    "ConnectionError",
    "ProxyError",
)


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layers_build", REPO_ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    build = _build_module()
    names = ("base", "lake", "ml")
    outs = {name: tmp_path_factory.mktemp(f"layer-{name}") for name in names}

    def one(name: str) -> str | None:
        try:
            build.build_layer(name, out_dir=outs[name], capture=True)
        except subprocess.CalledProcessError as error:
            return f"{error.stdout or ''}{error.stderr or ''}"
        return None

    # The three pip runs are independent; in parallel they take as long as the slowest.
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        failures = {name: output for name, output in zip(names, pool.map(one, names), strict=True) if output}
    for name, output in failures.items():
        if any(marker in output for marker in NETWORK_ERRORS):
            pytest.skip(f"the package registry is unreachable, layer {name} cannot be built: {output[-300:]}")
        raise AssertionError(f"layer {name}: {output}")
    for out in outs.values():
        assert (out / "python").is_dir()
    return {name: build.directory_size(out) for name, out in outs.items()}


@pytest.mark.slow
def test_ml_layer_holds_arm64_scikit_learn_within_the_limit(built: dict[str, int]) -> None:
    build = _build_module()
    assert 0 < built["ml"] <= build.LAMBDA_UNZIPPED_LIMIT_BYTES


@pytest.mark.slow
def test_every_function_fits_with_its_layers(built: dict[str, int]) -> None:
    build = _build_module()
    for spec in FUNCTIONS:
        total = built["base"] + spec.uses_lake_layer * built["lake"] + spec.uses_ml_layer * built["ml"]
        # The function's own asset (its folder + reviva/) is about 1 MB; keep 5 MB of headroom.
        assert total + 5 * 1024 * 1024 <= build.LAMBDA_UNZIPPED_LIMIT_BYTES, (spec.name, total)
