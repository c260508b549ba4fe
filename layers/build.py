"""Build a Lambda layer from its recipe, offline-able and reproducible: arm64 Linux wheels only.

    python layers/build.py ml            # → build/layers/ml/python/...
    python layers/build.py base --cache-dir ~/.cache/pip

pip resolves for the Lambda platform (manylinux2014_aarch64, the runtime's CPython), never for this
machine, and installs no source distribution, so nothing is compiled for the wrong CPU. Packages the
Lambda runtime already ships (boto3, botocore, s3transfer, jmespath…) are removed, and so are caches
and tests, to stay within Lambda's 250 MB unzipped limit. Prints the unzipped size in bytes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

LAYERS_DIR = Path(__file__).resolve().parent
BUILD_DIR = LAYERS_DIR.parent / "build" / "layers"
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): manylinux wheels up to 2.34 fit.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
PYTHON_VERSION = "3.14"  # keep equal to the functions' runtime (infra/components/functions.py)
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

# Shipped by the Lambda Python runtime: installing them again only costs space.
# Only packages whose import name equals their distribution name, so both go together.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
PRUNE_DIRS = ("__pycache__", "tests", "test")


def layer_dir(name: str) -> Path:
    """Where a built layer lives: the folder CDK packages (it holds `python/`)."""
    return BUILD_DIR / name


def directory_size(path: Path) -> int:
    """Bytes of every file under `path` (what Lambda counts as unzipped size)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _prune(site: Path) -> None:
    for name in RUNTIME_PROVIDED:
        for match in site.glob(f"{name}"):
            shutil.rmtree(match, ignore_errors=True)
        for match in site.glob(f"{name}-*.dist-info"):
            shutil.rmtree(match, ignore_errors=True)
    for directory in sorted(site.rglob("*"), reverse=True):
        # Test suites inside packages are dead weight at run time ("tests" of numpy/scipy/sklearn).
        if directory.is_dir() and directory.name in PRUNE_DIRS and directory.parent != site:
            shutil.rmtree(directory, ignore_errors=True)
    for compiled in site.rglob("*.pyc"):
        compiled.unlink()


def build_layer(
    name: str, out_dir: Path | None = None, cache_dir: Path | None = None, capture: bool = False
) -> Path:
    """Install layers/<name>/requirements.txt into <out>/python for arm64 Lambda; returns <out>."""
    recipe = LAYERS_DIR / name / "requirements.txt"
    if not recipe.is_file():
        raise FileNotFoundError(recipe)
    out = out_dir or layer_dir(name)
    shutil.rmtree(out, ignore_errors=True)
    site = out / "python"
    site.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        # pip would compare the target with this machine's environment, which is not Lambda's.
        "--no-warn-conflicts",
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--target",
        str(site),
        "-r",
        str(recipe),
    ]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    # pip's default cache is used unless another is given: rebuilding costs no download.
    subprocess.run(command, check=True, capture_output=capture, text=True)
    _prune(site)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="+", help="layer recipes under layers/ (base, ml)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    status = 0
    for name in args.names:
        out = build_layer(name, cache_dir=args.cache_dir)
        size = directory_size(out)
        verdict = "ok" if size <= LAMBDA_UNZIPPED_LIMIT_BYTES else "OVER Lambda's 250 MB limit"
        print(f"layer {name}: {size / 1024 / 1024:.1f} MB unzipped ({verdict}) in {out}")
        status |= size > LAMBDA_UNZIPPED_LIMIT_BYTES
    return status


if __name__ == "__main__":
    raise SystemExit(main())
