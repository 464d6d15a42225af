"""The course calendar as pure functions of the courses, the store's state and today.

A course is open from its start date to its end date (both included, UTC), and for a
student with an extension ``days`` longer. A member of a course may start a server with
one of its profiles only while one of their courses that lists the profile is open for
them; profiles no course of theirs lists are not the calendar's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .model import Course


@dataclass(frozen=True)
class Decision:
    allowed: bool
    message: str = ""
    courses: tuple[Course, ...] = ()  # the open courses that list the profile


def _day(d: dt.date) -> str:
    return f"{d:%A %d %B %Y}"


def spawn_decision(
    mine: Iterable[Course],
    profile: str,
    today: dt.date,
    extra_days: Mapping[str, int],
    disabled: Mapping | None = None,
) -> Decision:
    """May a member of ``mine`` start a ``profile`` server on ``today``?"""
    listing = [c for c in mine if profile in c.profiles]
    open_now = tuple(c for c in listing if c.is_open(today, extra_days.get(c.name, 0)))
    if open_now:
        return Decision(True, courses=open_now)
    if disabled:
        return Decision(
            False,
            f"Your account was closed when the course {disabled.get('course', '')} ended. "
            "Ask its instructor for extra days if you need your work; your home is archived.",
        )
    if not listing:
        return Decision(True)
    upcoming = sorted((c for c in listing if today < c.start), key=lambda c: c.start)
    if upcoming:
        c = upcoming[0]
        return Decision(
            False,
            f"Your course {c.label} starts on {_day(c.start)}. You can start your server "
            "from then.",
        )
    c = max(listing, key=lambda c: c.end + dt.timedelta(days=extra_days.get(c.name, 0)))
    last = c.end + dt.timedelta(days=extra_days.get(c.name, 0))
    return Decision(
        False,
        f"Your course {c.label} ended on {_day(last)}. Ask its instructor "
        f"({', '.join(c.instructors) or 'the course team'}) for extra days if you need them.",
    )


def status_row(course: Course, today: dt.date, extra: int = 0) -> dict[str, str]:
    """The home page's line about one course of the user."""
    last = course.end + dt.timedelta(days=extra)
    if today < course.start:
        state, note = "upcoming", f"starts on {_day(course.start)}; you can start your server then"
    elif today <= last:
        state = "open"
        note = f"open until {_day(last)}" + (f" ({extra} extra days)" if extra else "")
    else:
        state, note = "ended", f"ended on {_day(last)}"
    return {
        "name": course.name,
        "title": course.label,
        "state": state,
        "note": note,
        "start": f"{course.start}",
        "end": f"{last}",
    }


def keeps_account(
    user: str,
    ending: Course,
    mine: Iterable[Course],
    today: dt.date,
    extra_days: Mapping[str, int],
    protected: Iterable[str] = (),
) -> str:
    """Why ``user`` keeps their account when ``ending`` ends ("" if nothing keeps it):
    another course of theirs that has not ended, an extension, or a protected name
    (admins and instructors)."""
    if user in set(protected):
        return "an administrator or instructor"
    if not ending.has_ended(today, extra_days.get(ending.name, 0)):
        return f"extension until {ending.end + dt.timedelta(days=extra_days[ending.name])}"
    for c in mine:
        if c.name != ending.name and not c.has_ended(today, extra_days.get(c.name, 0)):
            return f"member of the course {c.name} (until {c.end})"
    return ""
