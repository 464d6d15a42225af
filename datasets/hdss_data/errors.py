"""Errors a student can act on: each names what is missing and where it was looked for."""

from __future__ import annotations


class HdssDataError(Exception):
    """Base class of every error raised by hdss_data."""


class DatasetNotFoundError(HdssDataError, FileNotFoundError):
    """No published dataset (a ``datapackage.json``) was found at or under the given root."""


class MissingTableError(HdssDataError, FileNotFoundError):
    """The manifest lists a table whose Parquet files are not there (or a table not listed)."""

    def __init__(self, table: str, message: str):
        super().__init__(message)
        self.table = table
