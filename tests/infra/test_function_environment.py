"""Each function's environment in the template is exactly what its settings read.

A variable the settings models do not read is a typo or a leftover (the function would never see
it); a required setting left unset would run on the local default in AWS. What each function
requires is declared once, in `reviva.topology.FUNCTIONS` (`required_settings`).
"""

from __future__ import annotations

from typing import Any

import aws_lambda_powertools.shared.constants as powertools_constants
import pytest
from pydantic_settings import BaseSettings

from infra.components.topology_tags import METADATA_KEY
from reviva.analytics.config import AnalyticsSettings
from reviva.settings import Settings, env_name
from reviva.topology import FUNCTIONS, LAKE_SETTINGS, FunctionSpec
from tests.infra.conftest import Synthesized

SETTINGS_MODELS: tuple[type[BaseSettings], ...] = (Settings, AnalyticsSettings)

# Powertools' own variables, as the library itself names them: configuration of Powertools, not ours.
POWERTOOLS_VARIABLES = frozenset(
    value
    for value in vars(powertools_constants).values()
    if isinstance(value, str) and value.startswith("POWERTOOLS_")
)

# Every variable our settings models read: field → its alias.
SETTINGS_VARIABLES: dict[str, str] = {
    field: env_name(model, field) for model in SETTINGS_MODELS for field in model.model_fields
}


def variable_of(field: str) -> str:
    """The variable a settings field (of either model) reads; a field neither model has fails."""
    assert field in SETTINGS_VARIABLES, f"no settings model has a field {field!r}"
    return SETTINGS_VARIABLES[field]


def function_environment(synthesized: Synthesized, spec: FunctionSpec) -> dict[str, Any]:
    found = [
        resource
        for resource in synthesized.template["Resources"].values()
        if resource.get("Metadata", {}).get(METADATA_KEY) == f"function/{spec.name}"
    ]
    assert len(found) == 1, f"function/{spec.name}: {len(found)} resources"
    variables: dict[str, Any] = found[0]["Properties"]["Environment"]["Variables"]
    return variables


def test_the_settings_models_read_distinct_variables_and_the_field_names_do_not_collide() -> None:
    fields = [field for model in SETTINGS_MODELS for field in model.model_fields]
    assert len(fields) == len(set(fields))
    assert len(SETTINGS_VARIABLES.values()) == len(set(SETTINGS_VARIABLES.values()))
    assert not POWERTOOLS_VARIABLES & set(SETTINGS_VARIABLES.values())


def test_env_name_reads_the_alias_and_refuses_a_field_the_model_lacks() -> None:
    assert env_name(Settings, "events_stream") == "EVENTS_STREAM"
    assert env_name(AnalyticsSettings, "athena_workgroup") == "ATHENA_WORKGROUP"
    with pytest.raises(KeyError, match="events_steam"):
        env_name(Settings, "events_steam")


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_every_required_setting_names_a_settings_field(spec: FunctionSpec) -> None:
    for field in spec.required_settings:
        variable_of(field)
    assert len(spec.required_settings) == len(set(spec.required_settings))


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_a_function_sets_only_variables_that_its_settings_or_powertools_read(
    synthesized: Synthesized, spec: FunctionSpec
) -> None:
    environment = function_environment(synthesized, spec)
    unread = set(environment) - set(SETTINGS_VARIABLES.values()) - POWERTOOLS_VARIABLES
    assert unread == set(), f"{spec.name} sets variables nothing reads"


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_a_function_sets_every_variable_it_requires(synthesized: Synthesized, spec: FunctionSpec) -> None:
    environment = function_environment(synthesized, spec)
    missing = {variable_of(field) for field in spec.required_settings} - set(environment)
    assert missing == set(), f"{spec.name} would run on the local defaults of these"
    for field in spec.required_settings:
        assert environment[variable_of(field)] not in ("", None), f"{spec.name}: {field} is empty"


def test_functions_that_open_the_lake_do_it_through_glue(synthesized: Synthesized) -> None:
    for spec in FUNCTIONS:
        if set(LAKE_SETTINGS) <= set(spec.required_settings):
            assert function_environment(synthesized, spec)[variable_of("lake_catalog")] == "glue"
