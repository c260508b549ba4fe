"""Upload the tracker and dashboard to the site bucket and invalidate CloudFront: `make deploy` runs it.

    python infra/publish_site.py --stack Reviva-dev

The folders and URL prefixes are the topology's `STATIC_SITES` ("/tracker/" → tracker/dist,
"/dashboard/" → dashboard), so a file has the same path locally and behind CloudFront. Folders that
do not exist (not built yet) are skipped and said so.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from reviva.topology import STATIC_SITES  # noqa: E402

# Written by the stack itself with its deployed values (infra/components/dashboard_config.py); the
# build's copy holds local defaults and must not replace it.
STACK_OWNED_KEYS = frozenset({"dashboard/config.json"})

# Scripts change with each release under the same name: browsers revalidate, CloudFront caches a day.
CACHE_CONTROL = "public, max-age=300, s-maxage=86400"


def site_files(mounts: Mapping[str, Path]) -> list[tuple[Path, str]]:
    """(local file, object key) for every file under every existing mount, key = prefix + relative path."""
    files: list[tuple[Path, str]] = []
    for prefix, folder in mounts.items():
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            key = prefix.strip("/") + "/" + path.relative_to(folder).as_posix()
            if key not in STACK_OWNED_KEYS:
                files.append((path, key))
    return files


def publish(s3: Any, bucket: str, mounts: Mapping[str, Path]) -> list[str]:
    """Upload every file with its content type; returns the keys written."""
    keys = []
    for path, key in site_files(mounts):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(
            str(path), bucket, key, ExtraArgs={"ContentType": content_type, "CacheControl": CACHE_CONTROL}
        )
        keys.append(key)
    return keys


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key."""
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True)
    args = parser.parse_args(argv)
    outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
    mounts = {prefix: REPO_ROOT / folder for prefix, folder in STATIC_SITES.items()}
    for prefix, folder in mounts.items():
        if not folder.is_dir():
            print(f"skipped {prefix}: {folder.relative_to(REPO_ROOT)} does not exist (not built?)")
    keys = publish(boto3.client("s3"), outputs["SiteBucketName"], mounts)
    if keys:
        boto3.client("cloudfront").create_invalidation(
            DistributionId=outputs["DistributionId"],
            InvalidationBatch={
                "Paths": {"Quantity": len(mounts), "Items": [f"{p.rstrip('/')}/*" for p in mounts]},
                "CallerReference": str(time.time()),
            },
        )
    print(f"published {len(keys)} files to {outputs['SiteBucketName']}; tracker {outputs.get('TrackerUrl')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
