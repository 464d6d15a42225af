"""Why the ledger refuses a request; each error carries the HTTP status the service returns."""

from hdss_common.errors import HdssError


class LedgerError(HdssError):
    """Base class: ``str(error)`` says what is wrong and what to do."""

    status = 400


class InvalidRequest(LedgerError):
    """The input breaks a rule (pattern, unknown user or dataset, dates); nothing was stored."""

    status = 422


class NotFound(LedgerError):
    status = 404


class Conflict(LedgerError):
    """The request clashes with what is stored (duplicate reference, overlap, revoked)."""

    status = 409


class Forbidden(LedgerError):
    status = 403
