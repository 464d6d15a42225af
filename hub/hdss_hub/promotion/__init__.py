"""Promotion and airlock: code moves to the restricted data, only checked results move out.

See hub/README-promotion.md. Modules: :mod:`.paths` (path safety), :mod:`.contract`
(tables and columns a notebook reads vs. the restricted manifest), :mod:`.checks` (output
checks), :mod:`.workspace` (files in and out of Docker volumes), :mod:`.runner` (papermill
in a hardened container), :mod:`.core` (the workflow), :mod:`.web` and :mod:`.service`
(the hub service), :mod:`.hubconfig` (registration in the hub).
"""
