"""Running a rule as a Prefect flow: one task that retries transient database faults, refusals as Failed states."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, cast

import httpx
from prefect import Flow, task
from prefect.states import Failed, State
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from flows import kept_server
from flows.prefect_server import note_process
from models.db import session_scope
from models.errors import ConsultrackError, ErrorCode

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


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


def refusals_as_failures(body: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | State]]:
    """A flow's body whose refusal (a ConsultrackError) ends the run as `refusal` says, instead of as a crash.
    Put it under @flow. Prefect validates the parameters against the body's signature, which it reads here with
    the annotations already evaluated: it would otherwise look their names up in this module, not the body's."""

    @functools.wraps(body)
    async def refusing(*args: P.args, **kwargs: P.kwargs) -> R | State:
        try:
            return await body(*args, **kwargs)
        except ConsultrackError as exc:
            return refusal(exc)

    # inspect.signature reads __signature__, which a function object does not declare for type checkers
    refusing.__signature__ = inspect.signature(body, eval_str=True)  # type: ignore[attr-defined]
    return refusing


def run(flow_fn: Flow[..., Any], **kwargs: Any) -> Any:
    """Run a flow from synchronous code (the CLI, the demo) and turn a refusal back into its exception; on the
    Prefect server already running for this data directory, or one kept for the next commands (flows/kept_server.py)."""
    kept_server.for_this_command()
    return _raise_refusal(asyncio.run(_run_once(flow_fn, kwargs)))


async def arun(flow_fn: Flow[..., Any], **kwargs: Any) -> Any:
    """The same from async code (the web service)."""
    return _raise_refusal(await _run_once(flow_fn, kwargs))


class PrefectUnavailable(ConsultrackError):
    """The Prefect API failed around a run: before its body began (nothing was changed) or after (it may have been)."""

    http_status = 503
    code = ErrorCode.SERVICE_UNAVAILABLE


API_TRIES = (0.5, 1.0, 2.0)
"""Pauses between the tries of a run whose start the Prefect API refused (a 409 from two Prefect servers racing on
one database, a 5xx, a connection refused or reset); the last failure is reported."""


async def _run_once(flow_fn: Flow[..., Any], kwargs: dict[str, Any]) -> Any:
    """The flow's result, or the exception it ended with. When the Prefect API fails before the flow's body began
    (creating the run, entering Running) it is tried again; a failure once the body has begun never is, so no change
    is ever applied twice: it is reported, as one message, like any API failure that persists."""
    name = _run_name(flow_fn, kwargs)
    marked = _noting_its_start(flow_fn)
    for pause in (*API_TRIES, None):
        began: list[bool] = []
        noted = _BEGAN.set(began)
        try:
            # Prefect's overloads cannot tell, for a flow of any return type, that an async flow called for its
            # state gives an awaitable: it is one here, every flow being async.
            state = await cast("Awaitable[State[Any]]", marked(**kwargs, return_state=True))
            # In a running loop `State.result` hands back a coroutine, so the result is awaited here.
            result = await state.aresult(raise_on_failure=False)
        except Exception as exc:
            if _api_error(exc) is None:
                raise
            result = exc
        finally:
            _BEGAN.reset(noted)
        failure = _api_error(result)
        if failure is None:
            return result
        why = _api_failure(failure)
        if began:
            raise PrefectUnavailable(
                f"the Prefect API failed while '{name}' ran ({why}): the change may have been "
                "saved; check 'consultrack audit' before trying again"
            ) from None
        if pause is None or not _worth_retrying(failure):
            raise PrefectUnavailable(
                f"the Prefect API refused to start '{name}' ({why}): nothing was changed; try again"
            ) from None
        await asyncio.sleep(pause)
    raise AssertionError("unreachable")


def _api_error(result: object) -> httpx.HTTPStatusError | httpx.TransportError | None:
    """The Prefect API's failure in `result`, if that is what it is: raised as it is, or wrapped by Prefect's client
    ("Failed to reach API at ...", a RuntimeError from the refused connection)."""
    seen = 0
    while isinstance(result, BaseException) and seen < 5:
        if isinstance(result, httpx.HTTPStatusError | httpx.TransportError):
            return result
        result, seen = result.__cause__, seen + 1
    return None


def _worth_retrying(exc: httpx.HTTPError) -> bool:
    """A conflict, a timeout, a server fault or a lost connection may pass; a request refused as malformed will not."""
    if not isinstance(exc, httpx.HTTPStatusError):
        return True
    return exc.response.status_code in (408, 409) or exc.response.status_code >= 500


_BEGAN: ContextVar[list[bool] | None] = ContextVar("consultrack_flow_body_began", default=None)
_noting: dict[Flow[..., Any], Flow[..., Any]] = {}


async def _body_begins(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect's on_running hook, run right after the run entered Running and before the body: the caller learns the
    body began (from here on nothing is retried), and the run records this process, for a restart to judge."""
    began = _BEGAN.get()
    if began is not None:
        began.append(True)
    await note_process(flow_run.id)


def _noting_its_start(flow_fn: Flow[..., Any]) -> Flow[..., Any]:
    """The flow with `_body_begins` as a hook; one copy per flow, made once (`with_options` costs ~20 ms)."""
    if flow_fn not in _noting:
        _noting[flow_fn] = flow_fn.with_options(on_running=[*flow_fn.on_running_hooks, _body_begins])
    return _noting[flow_fn]


def _run_name(flow_fn: Flow[..., Any], kwargs: dict[str, Any]) -> str:
    """The run's name as Prefect shows it ('neaspec-sp-2026-2030: advance consultations'), else the flow's."""
    template = flow_fn.flow_run_name
    if isinstance(template, str):
        try:
            return template.format(**kwargs)
        except (KeyError, AttributeError, IndexError):
            pass
    return flow_fn.name.replace("-", " ")


def _api_failure(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"it answered {exc.response.status_code} {exc.response.reason_phrase}"
    if isinstance(exc, httpx.ConnectError):
        return "it could not be reached"
    return f"the connection failed: {type(exc).__name__}"


def _raise_refusal(result: Any) -> Any:
    if isinstance(result, ConsultrackError):
        raise result
    if isinstance(result, BaseException):
        raise result
    return result
