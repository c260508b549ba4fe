"""Every analytics use case is served by exactly one route of the topology, and only by it."""

from __future__ import annotations

import pkgutil

import pytest

import reviva.analytics.usecases as usecases
from reviva.analytics.usecase import UnknownUseCase, load_use_case
from reviva.topology import ROUTES


def test_each_use_case_module_is_named_by_one_route_and_each_route_finds_its_module() -> None:
    modules = sorted(info.name for info in pkgutil.iter_modules(usecases.__path__))
    named = sorted(route.use_case for route in ROUTES if route.use_case is not None)
    assert named == modules
    for name in named:
        assert callable(load_use_case(name))


@pytest.mark.parametrize("name", ["nonexistent", "../service", "funnels.funnel", ""])
def test_a_name_that_is_not_a_use_case_is_refused(name: str) -> None:
    with pytest.raises(UnknownUseCase):
        load_use_case(name)
