"""Build a Lambda layer from its recipe, offline-able and reproducible: arm64 Linux wheels only.

    python layers/build.py ml            # → build/layers/ml/python/...
    python layers/build.py base --cache-dir ~/.cache/pip

pip resolves for the Lambda platform (manylinux2014_aarch64, the runtime's CPython), never for this
machine, and installs no source distribution, so nothing is compiled for the wrong CPU. Packages the
Lambda runtime already ships (boto3, botocore, s3transfer, jmespath…) are removed, and so are caches,
tests and build-time files (C headers, Cython sources), to stay within Lambda's 250 MB unzipped limit.

Every function gets the base layer first, and the lake and ML layers on top of it (infra/stack.py), so
those are resolved against the base layer's exact versions and leave out what base already ships:
Lambda extracts all of a function's layers into the same /opt/python, where two copies of pydantic
would cost space and, at different versions, overwrite each other file by file. Build base first.
Prints the unzipped size of each layer.
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
# Only compilers read these (pyarrow ships its C++ headers and sources, ~6 MB); Python never imports them.
BUILD_ONLY_SUFFIXES = (".h", ".hpp", ".c", ".cc", ".cpp", ".pyx", ".pxd", ".pxi")
# The layer every function has first; the others stack on it.
BASE_LAYER = "base"


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
    for build_only in [f for f in site.rglob("*") if f.suffix in BUILD_ONLY_SUFFIXES and f.is_file()]:
        build_only.unlink()
    # Deepest first, so a folder emptied of its subfolders goes too.
    for directory in sorted((d for d in site.rglob("*") if d.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def installed_distributions(site: Path) -> dict[str, tuple[str, Path]]:
    """Normalized distribution name → (version, its .dist-info folder) for a layer's site-packages."""
    found: dict[str, tuple[str, Path]] = {}
    for info in site.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found[normalize(name)] = (version, info)
    return found


def normalize(name: str) -> str:
    """PEP 503 name normalization ("Typing_Extensions" and "typing-extensions" are one project)."""
    return "-".join(part for part in name.lower().replace("_", "-").replace(".", "-").split("-") if part)


def _constraints_from(base_site: Path, into: Path) -> Path:
    """A pip constraints file pinning every distribution the base layer holds to its version."""
    pins = sorted(f"{name}=={version}" for name, (version, _) in installed_distributions(base_site).items())
    into.write_text("\n".join(pins) + "\n")
    return into


def _drop_what_base_ships(site: Path, base_site: Path) -> list[str]:
    """Remove the distributions the base layer already holds (same version: pip was constrained)."""
    base = installed_distributions(base_site)
    dropped: list[str] = []
    for name, (version, info) in installed_distributions(site).items():
        if name not in base:
            continue
        if base[name][0] != version:  # the constraints make this impossible unless pip ignored them
            raise RuntimeError(f"{name} {version} differs from the base layer's {base[name][0]}")
        record = info / "RECORD"
        if not record.is_file():
            continue  # without its file list the copy cannot be removed precisely: keep it
        for line in record.read_text().splitlines():
            relative = line.split(",", 1)[0]
            target = (site / relative).resolve()
            if relative and target.is_file() and site.resolve() in target.parents:
                target.unlink()
        shutil.rmtree(info, ignore_errors=True)
        dropped.append(name)
    return dropped


def build_layer(
    name: str,
    out_dir: Path | None = None,
    cache_dir: Path | None = None,
    capture: bool = False,
    base_dir: Path | None = None,
) -> Path:
    """Install layers/<name>/requirements.txt into <out>/python for arm64 Lambda; returns <out>.

    Any layer but base is resolved against the built base layer (`base_dir`, default
    build/layers/base) and leaves out what base already ships.
    """
    recipe = LAYERS_DIR / name / "requirements.txt"
    if not recipe.is_file():
        raise FileNotFoundError(recipe)
    base_site: Path | None = None
    if name != BASE_LAYER:
        base_site = (base_dir or layer_dir(BASE_LAYER)) / "python"
        if not base_site.is_dir():
            raise FileNotFoundError(f"build the {BASE_LAYER} layer before {name}: {base_site} is missing")
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
    if base_site is not None:
        command += ["--constraint", str(_constraints_from(base_site, out / "base-constraints.txt"))]
    # pip's default cache is used unless another is given: rebuilding costs no download.
    subprocess.run(command, check=True, capture_output=capture, text=True)
    if base_site is not None:
        (out / "base-constraints.txt").unlink()
        _drop_what_base_ships(site, base_site)
    _prune(site)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="+", help="layer recipes under layers/ (base first, then lake, ml)")
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
