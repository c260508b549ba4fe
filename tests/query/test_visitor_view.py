"""The merged visitor view lists the identity keys a person has, not the ones a lookup tried."""

from __future__ import annotations

from reviva.enrich.ports import StoredVisitor
from reviva.enrich.visitor_state import SessionState, VisitorState
from reviva.query.visitor_view import build_visitor_view


def test_only_keys_with_data_or_links_are_listed() -> None:
    stored = StoredVisitor(state=VisitorState.new("a:phone"), version=1)
    found: list[tuple[str, StoredVisitor | None, list[SessionState]]] = [
        ("a:phone", stored, []),  # a profile
        ("u:u_tried", None, []),  # what the raw id would pseudonymize to: nothing there
        ("u:u_linked", None, []),  # a user id linked by identify, with no profile of its own
        ("a:tried", None, []),  # the raw id read as an anonymous id: nothing there
    ]
    view = build_visitor_view("someone", found, linked=frozenset({"a:phone", "u:u_linked"}))
    assert view is not None
    assert view["identity_keys"] == ["a:phone", "u:u_linked"]
