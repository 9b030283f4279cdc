"""The registry of operations (flows/operations.py) and the error codes (models/errors.py): pure checks, no
database and no Prefect server."""

from __future__ import annotations

import inspect

import pytest

from flows.operations import OPERATIONS
from models.errors import ConsultrackError, ErrorCode, error_for


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_operation_declares_what_its_flow_takes(name: str) -> None:
    operation = OPERATIONS[name]
    taken = list(inspect.signature(operation.flow.fn).parameters)
    assert taken[:2] == ["process_key", operation.key_parameter]
    assert set(taken[2:]) == {"actor", *operation.parameters}
    assert operation.flow.fn.__name__ == name


def test_the_dashboard_has_a_form_for_each_operation_it_offers() -> None:
    from consultrack.web.pages.stage import ACTIONS, FORMS

    assert set(ACTIONS.values()) == set(FORMS)


def test_the_meetings_page_has_a_form_for_each_meeting_operation_it_offers() -> None:
    from consultrack.web.pages.meetings import ACTIONS, FORMS

    offered = {op for op in OPERATIONS.values() if op.on == "meeting" and op.page_action is not None}
    assert set(ACTIONS.values()) == offered and set(ACTIONS) == set(FORMS)
    assert all(ACTIONS[op.page_action] is op for op in offered if op.page_action is not None)


def test_an_error_comes_back_from_its_code_alone() -> None:
    for code in ErrorCode:
        error = error_for(code.value, "why")
        assert error.message == "why" and isinstance(error, ConsultrackError)
        assert error.code is code or type(error) is ConsultrackError
    assert type(error_for("no-such-code", "why")) is ConsultrackError
    assert type(error_for(None, "why")) is ConsultrackError
