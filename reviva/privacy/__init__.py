"""Privacy primitives applied before anything is stored: IP truncation and pseudonymization."""

from reviva.privacy.ip import client_ip, truncate_ip
from reviva.privacy.pseudonymize import (
    HmacKey,
    looks_like_email,
    looks_like_phone,
    mask_pii,
    pseudonymize,
    pseudonymize_user_id,
    scrub,
    scrub_identifier,
)

__all__ = [
    "HmacKey",
    "client_ip",
    "looks_like_email",
    "looks_like_phone",
    "mask_pii",
    "pseudonymize",
    "pseudonymize_user_id",
    "scrub",
    "scrub_identifier",
    "truncate_ip",
]
