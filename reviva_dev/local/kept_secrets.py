"""The local stack's secrets: generated once, then kept in the data directory.

Kept across restarts so that whatever holds one keeps working after `reviva dev` restarts: an open
dashboard tab (the admin token), a page with the tracker snippet (the write key), local pseudonyms
(the pseudonymization key). A value the environment sets wins, as in AWS, where the deployment
provides them; the files are readable by their owner only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

WRITE_KEY_FILE = "write.key"
ADMIN_TOKEN_FILE = "admin.token"
PSEUDONYMIZATION_KEY_FILE = "pseudonymization.key"


def load_or_create_secret(data_dir: Path, file_name: str, *, token_bytes: int = 24) -> str:
    """The secret kept in `data_dir/file_name`, created (random, URL-safe, mode 0600) if absent or empty."""
    path = data_dir / file_name
    if path.is_file():
        kept = path.read_text().strip()
        if kept:
            return kept
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(token_bytes)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value + "\n")
    return value
