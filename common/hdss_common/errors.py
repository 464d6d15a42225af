"""The error base every hdss error derives from: ``str(error)`` says what is wrong and what to do."""

from __future__ import annotations


class HdssError(Exception):
    """Base class of the project's errors; ``status`` is the HTTP status a service answers."""

    status = 500


class PolicyViolation(HdssError):
    """A configuration would break the container policy; nothing was started."""
