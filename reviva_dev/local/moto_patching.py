"""How the local emulator replaces moto's methods, and gives them back, in one way.

A replacement carries the method it replaced under a module's mark attribute, so installing twice
is a no-op and `restore_methods` can put moto's own back (the tests compare the two). Locks that
guard moto's objects live on the objects themselves, created on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_LOCK_CREATION = threading.Lock()


def is_replaced(cls: type, name: str, mark: str) -> bool:
    """Whether `cls.name` is already a replacement carrying `mark`."""
    return getattr(getattr(cls, name), mark, None) is not None


def replace_methods(cls: type, mark: str, replacements: Mapping[str, Callable[..., Any]]) -> None:
    """Put each replacement on `cls`, remembering (under `mark`) the method it replaces."""
    for name, replacement in replacements.items():
        setattr(replacement, mark, getattr(cls, name))
        setattr(cls, name, replacement)


def restore_methods(cls: type, mark: str, names: Iterable[str]) -> None:
    """Give `cls` back the methods `replace_methods` replaced."""
    for name in names:
        original = getattr(getattr(cls, name), mark, None)
        if original is not None:
            setattr(cls, name, original)


def owned_lock(owner: Any, attribute: str, factory: Callable[[], Any]) -> Any:
    """The lock kept on `owner` under `attribute`, made by `factory` on first use (once, race-free)."""
    lock = owner.__dict__.get(attribute)
    if lock is None:
        with _LOCK_CREATION:
            lock = owner.__dict__.setdefault(attribute, factory())
    return lock
