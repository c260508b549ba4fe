"""Property tests: no parameter, path, header or body, however hostile, makes the query function
answer 5xx or hang; bad input is a 400 naming the parameter.

Every route of the query function goes through the real handler (Powertools router, roles, use
cases) over the local Iceberg lake the analytics endpoint tests use and DynamoDB on moto. The
examples are bounded (a few hundred in all) so the suite stays fast.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from reviva.adapters.dynamodb.tables import create_tables
from reviva.analytics.params import EARLIEST_DAY, LATEST_DAYS_AHEAD
from reviva.analytics.usecases.funnels import BREAKDOWN_COLUMNS
from reviva.composition import Composition
from reviva.settings import load_settings, reset_settings_cache
from reviva.topology import ROUTES
from reviva_dev.fakes.lambda_context import lambda_context
from tests.analytics import dataset
from tests.functions.query.http_events import http_event
from tests.local_lake import use_local_lake

# The session filters (the dashboard's chips) every analytics endpoint reads.
FILTERS = ("channel", "page", "device", "country")
# Every GET route of the query function and the parameters it reads.
GET_PARAMETERS: dict[str, tuple[str, ...]] = {
    "/health": (),
    "/v1/rejected": ("limit",),
    "/v1/stats/realtime": (),
    "/v1/stats/overview": ("from", "to", "interval", *FILTERS),
    "/v1/visitors": ("from", "to", "limit", "cursor"),
    "/v1/retention": ("cohort", "periods", "from", "to", *FILTERS),
    "/v1/paths": ("from", "to", "from_step", "depth", *FILTERS),
    "/v1/attribution": ("model", "from", "to", "lookback_days", "limit", "cursor", *FILTERS),
    "/v1/campaigns": ("from", "to", "sort", "limit", "cursor", *FILTERS),
    "/v1/trends": ("metric", "from", "to", "interval", "horizon", *FILTERS),
    "/v1/funnels/vocabulary": ("from", "to", "q", "limit"),
    "/v1/funnels/saved": ("id",),
}
FUNNEL_PARAMETERS = ("body", "steps", "window_hours", "breakdown", "from", "to", *FILTERS)
SAVE_FUNNEL_PARAMETERS = ("body", "name", "steps", "labels", "window_hours", "breakdown", "id")
VISITOR_PATH = "/v1/visitors/{visitor_id}"
# A request that neither answers nor fails within this is a hang.
HANG_SECONDS = 30.0
TODAY = datetime.now(UTC).date()

ADMIN_TOKEN = "test-admin-token"


def test_every_route_of_the_query_function_is_probed() -> None:
    declared = {f"{r.method} {r.path}" for r in ROUTES if r.function == "query"}
    probed = {f"GET {path}" for path in GET_PARAMETERS} | {
        "POST /v1/funnels",
        "POST /v1/funnels/saved",
        f"GET {VISITOR_PATH}",
    }
    probed |= {"POST /v1/visitors/search"}
    assert declared == probed


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local lake with the analytics dataset, and the DynamoDB tables on moto, for the module."""
    root = tmp_path_factory.mktemp("stack")
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "REVIVA_ADMIN_TOKEN": ADMIN_TOKEN,
        }.items():
            patch.setenv(name, value)
        use_local_lake(root, patch)
        settings_ = load_settings()
        create_tables(settings_)
        Composition(settings_).lake_sink.append("shardId-000000000000", dataset.events(), last_sequence="1")
        yield root
    reset_settings_cache()


def _event(method: str, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    event = http_event(path, token=ADMIN_TOKEN)
    event["requestContext"]["http"]["method"] = method
    event["queryStringParameters"] = query or None
    # API Gateway hands over the raw query and the parsed one; the router reads the parsed one.
    event["rawQueryString"] = "&".join(
        f"{quote(k, errors='backslashreplace')}={quote(v, errors='backslashreplace')}"
        for k, v in (query or {}).items()
    )
    return event


def _call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The handler's answer; fails on an escaped exception or on no answer within HANG_SECONDS."""
    from functions.query.handler import handler

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["response"] = handler(event, lambda_context("query"))
        except BaseException as error:  # any escape is the failure reported below
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), f"no answer within {HANG_SECONDS} s"
    if "error" in outcome:
        raise AssertionError(f"the handler raised {outcome['error']!r} (a 500 in AWS)") from outcome["error"]
    response = outcome["response"]
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}


def _assert_no_5xx(status: int, body: dict[str, Any], named: set[str], *, in_body: bool = False) -> None:
    """No 5xx; a 400 is `bad_request` with a reason and names one of `named` (in a body: its root)."""
    assert status < 500, (status, body)
    if status == 400:
        assert body.get("error") == "bad_request", body
        assert isinstance(body.get("reason"), str) and body["reason"], body
        parameter = body.get("parameter")
        assert isinstance(parameter, str) and parameter, body
        root = parameter.split(".")[0].split("[")[0] if in_body else parameter
        assert root in named, (parameter, named)


# ------------------------------------------------------------------------------------- strategies

# Every code point, lone surrogates included (`characters()` leaves them out by default).
any_char = st.characters(exclude_categories=())
hostile_text = st.text(any_char, max_size=30)
edge_values = st.sampled_from(
    [
        "0001-01-01",
        "0001-01-03",
        "9999-12-31",
        "1999-12-31",
        EARLIEST_DAY.isoformat(),
        (TODAY + timedelta(days=LATEST_DAYS_AHEAD)).isoformat(),
        (TODAY + timedelta(days=LATEST_DAYS_AHEAD + 1)).isoformat(),
        TODAY.isoformat(),
        "2026-02-30",
        "2026-W01-1",
        "20260101xx",
        "\uff12\uff10\uff12\uff16-01-01",  # fullwidth digits
        "2026-01-01,2026-01-02",  # a repeated parameter, as API Gateway joins it
        "0",
        "-1",
        "1",
        "52",
        "53",
        "9" * 20,
        "1" * 5000,
        "1e9",
        "0x10",
        "١٢",
        "²",
        "NaN",
        "",
        " ",
        "\x00",
        "\ud800",
        "\udfff",
        "é" * 300,
        "x" * 100_000,
        "../../etc/passwd",
        "<script>",
        "%00",
        "day",
        "week",
        "month",
        "hour",
        "markov",
        "linear",
        "visitors",
        "revenue",
        "pricing_check",
        "pricing_check\n",
        "b:5",
        "bzo1",  # base64 of "o:5"
        base64.urlsafe_b64encode(b"o:" + b"9" * 4400).decode(),
        base64.urlsafe_b64encode(b"o:-5").decode(),
        "\ud800" * 3,
        "abcdefghij",  # the form of a saved funnel's id
    ]
)
days_near_the_bounds = st.dates(
    min_value=EARLIEST_DAY - timedelta(days=3), max_value=TODAY + timedelta(days=LATEST_DAYS_AHEAD + 3)
).map(date.isoformat)
parameter_values = edge_values | days_near_the_bounds | hostile_text | st.integers().map(str)


@st.composite
def valid_ranges(draw: st.DrawFn) -> dict[str, str]:
    """A short range anchored at a bound: it passes validation, so the arithmetic behind it runs."""
    anchor = draw(
        st.sampled_from([EARLIEST_DAY, TODAY - timedelta(days=1), TODAY + timedelta(days=LATEST_DAYS_AHEAD)])
    )
    span = draw(st.integers(0, 10))
    first = anchor if anchor == EARLIEST_DAY else anchor - timedelta(days=span)
    return {"from": first.isoformat(), "to": (first + timedelta(days=span)).isoformat()}


@st.composite
def get_requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    path = draw(st.sampled_from(sorted(GET_PARAMETERS)))
    names = st.sampled_from(GET_PARAMETERS[path]) if GET_PARAMETERS[path] else st.nothing()
    query = draw(st.dictionaries(names | hostile_text, parameter_values, max_size=5))
    if draw(st.booleans()):
        query.update(draw(valid_ranges()))
    return path, query


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**310)
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text
    | edge_values
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=20,
)
TWO_PAGES_STEPS = [{"type": "page"}, {"type": "page"}]
funnel_steps = st.dictionaries(
    st.sampled_from(["type", "url", "event", "touchpoint"]) | hostile_text,
    st.sampled_from(
        ["page", "track", "/pricing*", "/a*b", "*", "Booking Submitted", "pricing_check", "Bad-Name"]
    )
    | json_values,
    max_size=2,
)
funnel_bodies = st.fixed_dictionaries(
    {},
    optional={
        "steps": st.lists(funnel_steps | json_values, max_size=12),
        "window_hours": json_values | st.integers(-10, 3000),
        "breakdown": st.sampled_from(sorted(BREAKDOWN_COLUMNS)) | json_values,
        "from": parameter_values | json_values,
        "to": parameter_values | json_values,
        **{
            name: parameter_values | json_values | st.sampled_from(["paid_search", "/pricing"])
            for name in FILTERS
        },
    },
)

save_funnel_bodies = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["Booking", " ", "x" * 81]) | json_values,
        "steps": st.lists(funnel_steps | json_values, max_size=12) | st.just(TWO_PAGES_STEPS),
        "labels": st.lists(hostile_text | json_scalars, max_size=12) | json_values,
        "window_hours": json_values | st.integers(-10, 3000),
        "breakdown": st.sampled_from(sorted(BREAKDOWN_COLUMNS)) | json_values,
        "id": st.sampled_from(["abcdefghij", "ABCDEFGHIJ", "a" * 11]) | json_values,
    },
)


def _nested(depth: int, opener: str, closer: str) -> str:
    return opener * depth + closer * depth


raw_bodies = (
    hostile_text
    | st.integers(1, 200_000).map(lambda n: _nested(n, "[", "]"))
    | st.integers(1, 50_000).map(lambda n: _nested(n, '{"steps":', "}"))
    | st.sampled_from(["{not json", "NaN", "1" * 5000, '{"steps": 1e999}', "\ufeff{}", " "])
)


# ------------------------------------------------------------------------------------------ tests

TWO_PAGES = [{"type": "page"}, {"type": "page"}]
PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,  # a hang is caught by HANG_SECONDS; a first rollup computation may take a second
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(request=get_requests())
@example(request=("/v1/stats/overview", {"to": "0001-01-03"}))
@example(request=("/v1/stats/overview", {"from": "9999-12-31", "to": "9999-12-31"}))
@example(request=("/v1/retention", {"to": "2000-01-01", "cohort": "month", "periods": "52"}))
@example(request=("/v1/trends", {"metric": "visitors", "from": "9999-12-31", "to": "9999-12-31"}))
@example(request=("/v1/rejected", {"limit": "²"}))
@example(request=("/v1/paths", {"from_step": "\ud800"}))
@example(request=("/v1/retention", {"channel": "x" * 257}))
@example(request=("/v1/attribution", {"model": "markov", "page": "\ud800"}))
@example(request=("/v1/campaigns", {"device": "mobile", "country": "PT"}))
def test_no_query_string_makes_a_get_endpoint_fail(stack: Path, request: tuple[str, dict[str, str]]) -> None:
    path, query = request
    status, body = _call(_event("GET", path, query))
    shown_names = {_escaped(name) or "query" for name in query}
    _assert_no_5xx(status, body, set(GET_PARAMETERS[path]) | shown_names)


@PROPERTY_SETTINGS
@given(body=funnel_bodies.map(json.dumps) | raw_bodies, base64_encoded=st.booleans())
@example(body=json.dumps({"steps": TWO_PAGES, "breakdown": ["x"]}), base64_encoded=False)
@example(body=json.dumps({"steps": TWO_PAGES, "breakdown": {}}), base64_encoded=False)
@example(body=_nested(100_000, "[", "]"), base64_encoded=False)
@example(body=_nested(30_000, "[", "]"), base64_encoded=False)
@example(body=json.dumps({"steps": [{"event": "\ud800"}, {"type": "page"}]}), base64_encoded=False)
@example(body=json.dumps({"steps": TWO_PAGES, "to": "0001-01-03"}), base64_encoded=False)
@example(body=json.dumps({"steps": TWO_PAGES, "channel": {"x": 1}}), base64_encoded=False)
@example(body=json.dumps({"steps": TWO_PAGES, "page": "/pricing", "country": "PT"}), base64_encoded=False)
def test_no_body_makes_the_funnel_endpoint_fail(stack: Path, body: str, base64_encoded: bool) -> None:
    event = _event("POST", "/v1/funnels")
    event["headers"]["content-type"] = "application/json"
    if base64_encoded:
        event["body"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body
    status, answer = _call(event)
    _assert_no_5xx(status, answer, set(FUNNEL_PARAMETERS) | _escaped_keys(body), in_body=True)


@PROPERTY_SETTINGS
@given(body=save_funnel_bodies.map(json.dumps) | raw_bodies, base64_encoded=st.booleans())
@example(body=json.dumps({"name": "f", "steps": TWO_PAGES, "labels": ["\ud800"]}), base64_encoded=False)
@example(body=json.dumps({"name": "f", "steps": TWO_PAGES, "id": "abcdefghij"}), base64_encoded=False)
@example(body=json.dumps({"name": "f", "steps": TWO_PAGES}), base64_encoded=True)
def test_no_body_makes_the_save_funnel_endpoint_fail(stack: Path, body: str, base64_encoded: bool) -> None:
    event = _event("POST", "/v1/funnels/saved")
    event["headers"]["content-type"] = "application/json"
    if base64_encoded:
        event["body"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body
    status, answer = _call(event)
    _assert_no_5xx(status, answer, set(SAVE_FUNNEL_PARAMETERS) | _escaped_keys(body), in_body=True)
    if status == 200:
        # A saved funnel opens by its id.
        status, listed = _call(_event("GET", "/v1/funnels/saved", {"id": answer["id"]}))
        assert status == 200 and listed["funnels"][0]["steps"] == answer["steps"]
    if status == 404:
        assert answer == {"error": "not_found", "parameter": "id", "reason": answer["reason"]}


def _escaped_keys(body: str) -> set[str]:
    """The top-level keys of a JSON object body, as an error names them (escaped)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return set()
    if not isinstance(document, dict):
        return set()
    return {_escaped(key) for key in document}


def _escaped(name: str) -> str:
    """A name as an error quotes it: cut to 40 characters, non-ASCII escaped."""
    return name[:40].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.fixed_dictionaries({}, optional={"q": json_values | st.text(any_char, max_size=300)}).map(
        json.dumps
    )
    | raw_bodies
)
@example(body=json.dumps({"q": "someone@example.org"}))
@example(body=json.dumps({"q": "\ud800@x.org"}))
@example(body=json.dumps({"q": "a:" + "x" * 254}))
def test_no_body_makes_the_people_search_fail(stack: Path, body: str) -> None:
    event = _event("POST", "/v1/visitors/search")
    event["headers"]["content-type"] = "application/json"
    event["body"] = body
    status, answer = _call(event)
    _assert_no_5xx(status, answer, {"body", "q"}, in_body=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visitor_id=hostile_text | edge_values, encoded=st.booleans())
@example(visitor_id="\x00", encoded=False)
@example(visitor_id="%ED%A0%80", encoded=False)
@example(visitor_id="é" * 256, encoded=False)
def test_no_visitor_id_makes_the_visitor_endpoint_fail(stack: Path, visitor_id: str, encoded: bool) -> None:
    raw = quote(visitor_id, safe="", errors="backslashreplace") if encoded else visitor_id
    event = _event("GET", "/v1/visitors/" + raw)
    status, body = _call(event)
    _assert_no_5xx(status, body, {"visitor_id"})


@settings(max_examples=40, deadline=None)
@given(
    path=st.sampled_from(["/v1/rejected", "/v1/stats/realtime", "/v1/campaigns", "/v1/visitors/phone"]),
    authorization=st.text(any_char, max_size=40).map(lambda token: "Bearer " + token) | hostile_text,
)
@example(path="/v1/rejected", authorization="Bearer é")
@example(path="/v1/rejected", authorization="Bearer \ud800")
def test_no_authorization_header_is_a_5xx(stack: Path, path: str, authorization: str) -> None:
    event = _event("GET", path)
    event["headers"]["authorization"] = authorization
    status, body = _call(event)
    assert status == 401, (status, body)
    assert body["error"] == "unauthorized"


@pytest.mark.parametrize("path", [path for path, names in GET_PARAMETERS.items() if "channel" in names])
@pytest.mark.parametrize("name", FILTERS)
@pytest.mark.parametrize("value", ["x" * 257, "\ud800"])
def test_every_analytics_endpoint_names_a_bad_filter(stack: Path, path: str, name: str, value: str) -> None:
    query = {"metric": "visitors", "model": "linear", name: value}
    status, body = _call(_event("GET", path, {k: v for k, v in query.items() if k in GET_PARAMETERS[path]}))
    assert (status, body.get("parameter")) == (400, name), body


@pytest.mark.parametrize("name", FILTERS)
def test_the_funnel_endpoint_names_a_bad_filter(stack: Path, name: str) -> None:
    event = _event("POST", "/v1/funnels")
    event["headers"]["content-type"] = "application/json"
    event["body"] = json.dumps({"steps": TWO_PAGES, name: 7})
    status, body = _call(event)
    assert (status, body.get("parameter")) == (400, name), body
