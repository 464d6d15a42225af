"""Synthetic Danish health registers: generator, publication and catalogue."""

__version__ = "0.1.0"
