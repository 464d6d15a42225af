"""The start queue: at most ``slots`` start at once, the rest in order, told their place."""

from __future__ import annotations

import asyncio

import pytest
from hdss_spawner.startqueue import QueueWaitTooLong, StartQueue, ordinal


async def test_starts_beyond_the_slots_wait_in_order_and_know_their_place():
    queue = StartQueue(2)
    started: list[int] = []
    places: dict[int, list[int]] = {i: [] for i in range(6)}
    gates = {i: asyncio.Event() for i in range(6)}
    peak = 0

    async def spawn(i: int) -> None:
        nonlocal peak
        async with queue.turn(lambda place, starting: places[i].append(place)):
            started.append(i)
            peak = max(peak, queue.starting)
            await gates[i].wait()

    tasks = []
    for i in range(6):  # pressed Start one after the other
        tasks.append(asyncio.create_task(spawn(i)))
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert started == [0, 1]
    assert queue.waiting == 4
    assert [places[i][-1] for i in range(2, 6)] == [1, 2, 3, 4]
    for i in range(6):
        gates[i].set()
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    assert started == [0, 1, 2, 3, 4, 5]  # first come, first served
    assert peak == 2
    assert places[5] == [4, 3, 2, 1]  # told each step forward
    assert places[0] == [] and queue.starting == 0 and queue.waiting == 0


async def test_a_wait_too_long_leaves_the_line_and_the_next_moves_up():
    queue = StartQueue(1)
    hold = asyncio.Event()

    async def first() -> None:
        async with queue.turn(lambda *_: None):
            await hold.wait()

    runner = asyncio.create_task(first())
    await asyncio.sleep(0)
    places: list[int] = []
    with pytest.raises(QueueWaitTooLong):
        async with queue.turn(lambda *_: None, timeout=0.05):
            pass
    assert queue.waiting == 0
    third = asyncio.create_task(_take(queue, lambda p, s: places.append(p)))
    await asyncio.sleep(0)
    assert places == [1]  # the one who gave up no longer stands in front
    hold.set()
    await asyncio.gather(runner, third)
    assert queue.starting == 0


async def test_a_cancelled_wait_gives_its_turn_on():
    queue = StartQueue(1)
    hold = asyncio.Event()
    holder = asyncio.create_task(_take(queue, lambda *_: None, hold))
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(_take(queue, lambda *_: None))
    after = asyncio.create_task(_take(queue, lambda *_: None))
    await asyncio.sleep(0)
    cancelled.cancel()
    hold.set()
    await asyncio.gather(holder, after)
    assert cancelled.cancelled()
    assert queue.starting == 0 and queue.waiting == 0


async def _take(queue: StartQueue, place, hold: asyncio.Event | None = None) -> None:
    async with queue.turn(place):
        if hold is not None:
            await hold.wait()


def test_a_queue_needs_a_slot():
    with pytest.raises(ValueError, match="at least 1 slot"):
        StartQueue(0)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (101, "101st"),
    ],
)
def test_ordinal(n, text):
    assert ordinal(n) == text
