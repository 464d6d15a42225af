"""What happens to courses over time, kept in one JSON file the hub and ``hdss-course`` share.

``<state_dir>/courses/state.json`` holds the extensions instructors gave (course -> user
-> days, who and when), the accounts disabled when their course ended, and each member
an end run has finished with. Every write takes an exclusive lock and replaces the file
atomically, so the hub and a running ``hdss-course end`` never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EMPTY: dict[str, Any] = {"extensions": {}, "disabled": {}, "ended": {}}


class CourseStore:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def in_state_dir(cls, state_dir: str | os.PathLike) -> CourseStore:
        return cls(Path(state_dir, "courses", "state.json"))

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            data = {}
        return {key: dict(data.get(key) or {}) for key in EMPTY}

    @contextlib.contextmanager
    def update(self) -> Iterator[dict[str, Any]]:
        """The state to change in place; written back when the block ends without error."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self.read()
            yield data
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)

    # -- reading -------------------------------------------------------------------------

    def extra_days(self, course: str, user: str, data: dict | None = None) -> int:
        data = data or self.read()
        return int((data["extensions"].get(course) or {}).get(user, {}).get("days", 0))

    def disabled(self, user: str, data: dict | None = None) -> dict | None:
        data = data or self.read()
        return data["disabled"].get(user)

    def ended(self, course: str, user: str, data: dict | None = None) -> dict | None:
        data = data or self.read()
        return (data["ended"].get(course) or {}).get(user)
