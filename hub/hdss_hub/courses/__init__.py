"""Courses as data, with a lifecycle: dates, materials, instructors, the end of a course.

``load(settings) -> list[Course]`` and ``course_of(courses, groups)`` are the API other
parts of the hub (the usage pages) use; the rest is wired by ``hubconfig``.
"""

from .model import Course, CourseError, course_of, courses_of, load

__all__ = ["Course", "CourseError", "course_of", "courses_of", "load"]
