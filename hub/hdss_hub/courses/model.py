"""Courses as data: the ``courses:`` section of the settings file, parsed and checked.

A course names its hub group, the profile(s) its members use, its first and last day
(dates, UTC, both included), its instructors, its materials at a pinned revision and how
many extra days an instructor may give a student. ``load(settings)`` returns them;
``check(settings, courses)`` refuses what would make the hub misbehave, naming the course.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from hdss_common.errors import HdssError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class CourseError(HdssError):
    """A course cannot be used as configured; the message names the course and the fix."""

    status = 400


class Materials(BaseModel):
    """A git repository at a revision (``git``, ``revision``, optional ``subdir``), or a
    folder of notebooks (``folder``; ``digest`` pins its content, see materials.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    git: str | None = None
    revision: str | None = None
    subdir: str = ""
    folder: str | None = None
    digest: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Materials:
        if bool(self.git) == bool(self.folder):
            raise ValueError("give either git (with revision) or folder, not both or neither")
        if self.git and not self.revision:
            raise ValueError("a git repository needs a pinned revision (a commit or tag)")
        if self.folder and self.revision:
            raise ValueError("a folder is pinned by digest, not revision")
        if self.subdir.startswith("/") or ".." in self.subdir.split("/"):
            raise ValueError("subdir must be a path inside the repository")
        return self


class Course(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str = ""
    group: str
    profiles: tuple[str, ...] = Field(min_length=1)
    start: dt.date
    end: dt.date
    instructors: tuple[str, ...] = ()
    materials: Materials | None = None
    max_extension_days: int = Field(default=14, ge=0, le=365)

    @property
    def label(self) -> str:
        return self.title or self.name

    def is_open(self, today: dt.date, extra_days: int = 0) -> bool:
        """Open on ``today``: from the start date to the end date (plus ``extra_days``)."""
        return self.start <= today <= self.end + dt.timedelta(days=extra_days)

    def has_ended(self, today: dt.date, extra_days: int = 0) -> bool:
        return today > self.end + dt.timedelta(days=extra_days)


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(course)"
    return f"{where}: {err['msg']}"


def parse(name: str, raw: Mapping[str, Any]) -> Course:
    """One course from its settings entry; CourseError naming the course otherwise."""
    try:
        return Course(name=name, **dict(raw))
    except ValidationError as e:
        raise CourseError(f"course {name}: {_first_error(e)}. Fix courses.{name}.") from e
    except TypeError as e:
        raise CourseError(f"course {name}: {e}. Fix courses.{name}.") from e


def load(settings: Mapping[str, Any]) -> list[Course]:
    """Every course of the settings, in the order written."""
    return [parse(name, raw or {}) for name, raw in (settings.get("courses") or {}).items()]


def check(settings: Mapping[str, Any], courses: Iterable[Course]) -> None:
    """Dates in order, the group declared in ``groups``, the profiles defined."""
    groups = settings.get("groups") or {}
    profiles = settings.get("profiles") or {}
    for c in courses:
        if c.end < c.start:
            raise CourseError(
                f"course {c.name}: its end date {c.end} is before its start date {c.start}; "
                f"fix courses.{c.name}.start/end"
            )
        if c.group not in groups:
            raise CourseError(
                f"course {c.name}: group {c.group!r} does not exist; add it under groups: "
                f"(e.g. `{c.group}: []`, members may come from the login) or fix "
                f"courses.{c.name}.group"
            )
        for p in c.profiles:
            if p not in profiles:
                raise CourseError(
                    f"course {c.name}: profile {p!r} does not exist (profiles: "
                    f"{', '.join(sorted(profiles))}); fix courses.{c.name}.profiles"
                )
            if profiles[p].get("kind") == "secure":
                raise CourseError(
                    f"course {c.name}: profile {p!r} is a secure profile; courses use sandbox "
                    f"profiles only (no course material reaches a secure server)"
                )


def courses_of(courses: Iterable[Course], groups: Iterable[str]) -> list[Course]:
    """The courses whose group is among ``groups``."""
    mine = set(groups)
    return [c for c in courses if c.group in mine]


def course_of(courses: Iterable[Course], groups: Iterable[str]) -> Course | None:
    """The first course of a member of ``groups`` (usage pages group by it), else None."""
    found = courses_of(courses, groups)
    return found[0] if found else None


def with_course_profiles(settings: Mapping[str, Any], courses: Iterable[Course]) -> dict:
    """Settings whose profiles are also offered to each course's group."""
    out = dict(settings)
    profiles = {name: dict(p) for name, p in (settings.get("profiles") or {}).items()}
    for c in courses:
        for p in c.profiles:
            groups = list(profiles[p].get("groups", []))
            if c.group not in groups:
                profiles[p]["groups"] = [*groups, c.group]
    out["profiles"] = profiles
    return out
