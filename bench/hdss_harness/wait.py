"""One polling loop for the tests and the benchmarks: ``wait_until``.

Deadlines are generous (two cores under load are slow); they bound a wait, never assert
on timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError, TimeoutError):
    """The condition did not hold in time: a test failure, and a ``TimeoutError``."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 1.0,
    message: str | Callable[[], str] = "the condition did not hold",
    *,
    expect: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns a truthy value.

    Returns that value. After ``timeout`` seconds raises ``WaitTimeout`` (an
    ``AssertionError`` and a ``TimeoutError``) with ``message`` (a string, or a callable
    that makes one then, e.g. the end of a log) and the predicate's last value.

    An exception the predicate raises ends the wait and propagates, unless it is one of
    ``expect`` (say, a connection refused while a server starts): that counts as "not
    yet", and is shown as the last value on a timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            last: object = predicate()
        except expect as e:
            last = e
        else:
            if last:
                return last  # type: ignore[return-value]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            text = message() if callable(message) else message
            raise WaitTimeout(f"{text} (waited {timeout:g} s; last value: {last!r})")
        time.sleep(min(interval, remaining))
