"""Streaming a run: the steps run in a worker thread, the caller iterates the events as they happen."""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

Emit = Callable[[Any], None]


def events_of(work: Callable[[Emit], Any], thread_name: str) -> Iterator[Any]:
    """Run ``work(emit)`` in a worker thread (started on the first ``next``) and yield what it emits.

    The worker runs in a copy of the caller's context, so output routing and configuration
    follow the caller. An exception of ``work`` is raised to the caller after the last event.
    """
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    end = object()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work(events.put)
        except BaseException as exc:
            failure.append(exc)
        finally:
            events.put(end)

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target,), name=thread_name, daemon=True)
    thread.start()
    while (item := events.get()) is not end:
        yield item
    thread.join()
    if failure:
        raise failure[0]


def in_async(verb: Callable[..., Any], streamed: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``verb(*args, **kwargs)`` for async code: an awaitable, or an async iterator of events when
    ``streamed``. The work runs in a worker thread, so the event loop (and the notebook) stays free."""
    if not streamed:
        return asyncio.to_thread(verb, *args, **kwargs)

    async def events() -> AsyncIterator[Any]:
        iterator = iter(await asyncio.to_thread(verb, *args, **kwargs))
        end = object()
        while (item := await asyncio.to_thread(next, iterator, end)) is not end:
            yield item

    return events()
