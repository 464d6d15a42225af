"""A lighter ``jupyterhub-singleuser``: the hub's database layer is never loaded.

``jupyterhub-singleuser`` (6.1.1) imports the hub's whole database layer although a
single-user server never opens a database: ``jupyterhub.services.auth`` imports
``jupyterhub.scopes``, which imports ``sqlalchemy``, ``jupyterhub.orm`` (and with it
``alembic``, ``mako`` and ``pygments``) and ``jupyterhub.roles`` at module level, for
functions that only run with a database session; and ``jupyterhub.log`` imports the hub's
request handlers and its metrics (``jupyterhub.handlers``, ``jupyterhub.metrics``, both
importing ``jupyterhub.orm``) for two lines of ``log_request``; ``jupyterhub.utils`` imports
``sqlalchemy.exc`` (and with it most of SQLAlchemy) for one hub-only decorator. Together ~15 MiB of every
idle server, and ~0.4 s CPU at every start.

``install()`` runs at interpreter start (``hdss_slim.pth`` in the image's site-packages)
and acts only in a process started as ``jupyterhub-singleuser``:

- ``sqlalchemy``, ``jupyterhub.orm`` and ``jupyterhub.roles`` are deferred: a stand-in
  module takes their place, and the first attribute anyone asks of it imports the real
  module, so code that really uses them still works, only later (``importlib.util``'s
  ``LazyLoader`` would be the stock tool, but SQLAlchemy's own imports break under it);
- ``jupyterhub.utils`` and ``jupyterhub.log`` are imported with stand-ins for the three
  names they take from the hub's database layer, handlers and metrics: ``SQLAlchemyError``
  (caught only by ``catch_db_error`` around the hub's own database session),
  ``HealthCheckHandler`` (the hub's health check, never served by a single-user server)
  and ``prometheus_log_method`` (records the hub's request metric; the single-user server's
  own request metrics stay, recorded by jupyter_server).

Every other process (kernels, papermill, ``jupyter lab``) is left alone. The upstream
change that makes this unnecessary: in JupyterHub, import ``sqlalchemy``/``orm``/``roles``
inside the functions of ``scopes`` that take a database session and in ``catch_db_error``,
and let ``log_request``
take the health-check class and the metrics hook from the hub's app settings instead of
importing them, so that ``jupyterhub.singleuser`` imports nothing of the hub's database.
"""

from __future__ import annotations

import importlib
import os
import sys
import types

LAZY = ("sqlalchemy", "jupyterhub.orm", "jupyterhub.roles")
PROGRAMS = ("jupyterhub-singleuser",)
ENV_OFF = "HDSS_SLIM_SINGLEUSER"  # "0": leave jupyterhub-singleuser as upstream ships it


class Deferred(types.ModuleType):
    """Stands for a module not imported yet: the first attribute anyone asks of it imports
    the real modules (every deferred one, in ``LAZY``'s order: SQLAlchemy's own imports
    fail when it is first imported from inside another import), which then take their
    places in ``sys.modules`` and on their packages; every attribute from then on comes
    from the real module."""

    def __getattr__(self, attr):
        if "_hdss_real" not in self.__dict__:
            realize()
        return getattr(self.__dict__["_hdss_real"], attr)


def realize() -> None:
    """Import every deferred module for real (a no-op once done)."""
    for name in LAZY:
        proxy = _proxies.get(name)
        if proxy is None or "_hdss_real" in proxy.__dict__:
            continue
        if sys.modules.get(name) is proxy:
            del sys.modules[name]
        proxy.__dict__["_hdss_real"] = importlib.import_module(name)


_proxies: dict[str, Deferred] = {}


def is_lazy(module) -> bool:
    """True while a deferred module has not been imported for real."""
    return isinstance(module, Deferred) and "_hdss_real" not in module.__dict__


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    proxy = Deferred(name, "not imported yet: the first use imports it (hdss)")
    _proxies[name] = proxy
    sys.modules[name] = proxy
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), child, proxy)


def _stand_in(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name, "a stand-in while jupyterhub is imported (hdss)")
    module.__dict__.update(attrs)
    return module


def _import_with_stand_ins(target: str, stand_ins: dict[str, types.ModuleType]) -> None:
    """Import ``target`` with the modules in ``stand_ins`` in place, then take them away."""
    placed = [name for name in stand_ins if name not in sys.modules]
    for name in placed:
        sys.modules[name] = stand_ins[name]
    try:
        importlib.import_module(target)
    finally:
        for name in placed:
            del sys.modules[name]


def _import_hub_helpers() -> None:
    """``jupyterhub.utils`` and ``jupyterhub.log`` with their hub-only names stood in for."""
    # utils: SQLAlchemyError, caught only by catch_db_error around the hub's own database.
    sa_error = type("SQLAlchemyError", (Exception,), {"__module__": "sqlalchemy.exc"})
    _import_with_stand_ins(
        "jupyterhub.utils",
        {"sqlalchemy.exc": _stand_in("sqlalchemy.exc", SQLAlchemyError=sa_error)},
    )
    # log: the hub's health-check handler class and the hub's request metric.
    _import_with_stand_ins(
        "jupyterhub.log",
        {
            "jupyterhub.handlers.pages": _stand_in(
                "jupyterhub.handlers.pages", HealthCheckHandler=type("HealthCheckHandler", (), {})
            ),
            "jupyterhub.metrics": _stand_in(
                "jupyterhub.metrics", prometheus_log_method=lambda handler: None
            ),
        },
    )


def install(argv0: str | None = None) -> bool:
    """Make this process a lighter jupyterhub-singleuser; False (nothing done) elsewhere."""
    program = os.path.basename(argv0 if argv0 is not None else (sys.argv or [""])[0])
    if program not in PROGRAMS or os.environ.get(ENV_OFF) == "0":
        return False
    _import_hub_helpers()
    for name in LAZY:
        _defer(name)
    return True
