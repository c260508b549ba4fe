"""The site publisher puts each static file at the path the local runtime serves it from."""

from __future__ import annotations

from pathlib import Path

import boto3
from moto import mock_aws

from infra.publish_site import publish, site_files


def test_files_keep_their_local_url_path_and_content_type(tmp_path: Path) -> None:
    tracker = tmp_path / "tracker-dist"
    (tracker / "chunks").mkdir(parents=True)
    (tracker / "reviva.js").write_text("console.log(1)")
    (tracker / "chunks" / "fp.js").write_text("export {}")
    (tracker / ".DS_Store").write_text("")
    mounts = {"/tracker/": tracker, "/dashboard/": tmp_path / "not-built"}
    assert [key for _, key in site_files(mounts)] == ["tracker/chunks/fp.js", "tracker/reviva.js"]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="site")
        assert publish(s3, "site", mounts) == ["tracker/chunks/fp.js", "tracker/reviva.js"]
        head = s3.head_object(Bucket="site", Key="tracker/reviva.js")
        assert head["ContentType"] in ("text/javascript", "application/javascript")
        assert "max-age" in head["CacheControl"]
