"""Running a rule as a Prefect flow: one task that retries transient database faults, refusals as Failed states."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from prefect import task
from prefect.states import Failed, State
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from models.db import session_scope
from models.errors import ConsultrackError

T = TypeVar("T")


def _transient(task: Any, task_run: Any, state: State) -> bool:
    """Retry what a new try can mend (a lost connection, a PostgreSQL deadlock or serialization failure); never a
    refusal, which would only be refused again. A database held too long by another writer is a refusal too
    (DatabaseBusy, from models/db.py): the statement already waited its bounded time, and trying again at once
    would only multiply that wait before the user hears "busy, try again"."""
    try:
        state.result()
    except OperationalError:
        return True
    except Exception:  # noqa: BLE001 - anything else is final
        return False
    return False


@task(retries=3, retry_delay_seconds=[0.5, 1, 2], retry_condition_fn=_transient, persist_result=False)
def in_transaction(operation: Callable[[Session], T]) -> T:
    """Apply `operation` in one transaction: all of it commits, or none of it."""
    with session_scope() as session:
        return operation(session)


def refusal(exc: ConsultrackError) -> State:
    """The flow's final state for a refused operation: Failed, with the reason, and no traceback in the logs."""
    return Failed(message=f"{type(exc).__name__}: {exc.message}", data=exc)


def run(flow_fn: Callable[..., Coroutine[Any, Any, Any]], **kwargs: Any) -> Any:
    """Run a flow from synchronous code (the CLI, the demo) and turn a refusal back into its exception."""
    return unwrap(asyncio.run(flow_fn(**kwargs, return_state=True)))


async def arun(flow_fn: Callable[..., Coroutine[Any, Any, Any]], **kwargs: Any) -> Any:
    """The same from async code (the web service). In a running loop `State.result` hands back a coroutine,
    so the result is awaited here."""
    state = await flow_fn(**kwargs, return_state=True)
    return _raise_refusal(await state.aresult(raise_on_failure=False))


def unwrap(state: State) -> Any:
    return _raise_refusal(state.result(raise_on_failure=False))


def _raise_refusal(result: Any) -> Any:
    if isinstance(result, ConsultrackError):
        raise result
    if isinstance(result, BaseException):
        raise result
    return result
