"""Backups that restore: the hub's state, the ledger, the homes and the archives in restic.

One *run* (``hdss-backup backup``) writes several restic snapshots, each tagged
``hdss``, ``run:<run id>`` and ``part:<what>``:

* ``part:state``: a staging folder holding consistent copies of the hub database and the
  ledger/audit/promotion database (SQLite online backup, or ``pg_dump`` for PostgreSQL),
  the audit anchor log (copied *before* the ledger database, so the copy never holds a
  checkpoint the database copy lacks), the secrets, the airlock folder and the settings file;
* ``part:volume:<name>``: each home and project volume, read through the engine as a tar
  stream (see :mod:`.volumes`);
* ``part:archives``: the archive root of ended courses;
* ``part:manifest``: written last, naming every part's snapshot; tagged ``complete`` only
  when every part succeeded. ``restore`` uses the newest complete run unless told otherwise.

See :mod:`.run` for a run, :mod:`.restore` for a restore, :mod:`.cli` for the command.
"""
