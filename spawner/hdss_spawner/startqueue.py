"""Spawns beyond what the host can start at once wait in order, and know their place.

JupyterHub's own ``concurrent_spawn_limit`` answers 429 ("Too many users trying to log in
right now") to the spawn over the limit: in a class rush, students would see errors and
press Start again. Here the hub's limit is set high and each server's start takes a turn
in a ``StartQueue`` instead: at most ``slots`` servers start at once, the others wait first
come, first served, and each waiter is told its place whenever it changes (the spawner shows
it on the progress page).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

Place = Callable[[int, int], None]  # (place in line from 1, servers starting now)


class QueueWaitTooLong(Exception):
    """A start waited longer than allowed for its turn."""


class StartQueue:
    """A first-come, first-served limit on servers starting at once."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"a start queue needs at least 1 slot, not {slots}")
        self.slots = slots
        self.starting = 0
        self._waiting: list[tuple[asyncio.Future, Place]] = []

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def turn(self, place: Place, timeout: float | None = None) -> AsyncIterator[None]:
        """Hold one of the slots for the body; wait in line (told ``place``) until then.

        ``timeout``: most seconds to wait in line; then ``QueueWaitTooLong``.
        """
        await self._acquire(place, timeout)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, place: Place, timeout: float | None) -> None:
        if self.starting < self.slots and not self._waiting:
            self.starting += 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((future, place))
        place(len(self._waiting), self.starting)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except (TimeoutError, asyncio.CancelledError) as e:
            if future.done() and not future.cancelled():
                self._release()  # the turn came just as the wait ended: pass it on
            else:
                future.cancel()
                self._drop(future)
            if isinstance(e, TimeoutError):
                raise QueueWaitTooLong(f"no turn to start within {timeout:.0f} s") from None
            raise

    def _drop(self, future: asyncio.Future) -> None:
        self._waiting = [(f, p) for f, p in self._waiting if f is not future]
        self._tell_places()

    def _release(self) -> None:
        self.starting -= 1
        while self._waiting and self.starting < self.slots:
            future, _ = self._waiting.pop(0)
            if future.done():
                continue
            self.starting += 1
            future.set_result(None)
        self._tell_places()

    def _tell_places(self) -> None:
        for i, (_, place) in enumerate(self._waiting, start=1):
            place(i, self.starting)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
