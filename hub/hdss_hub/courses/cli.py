"""``hdss-course``: the end of courses, and archives of homes.

check              validate the courses (dates, groups, profiles, materials) as the hub does
end [--course N]   end every course whose last day has passed (run daily by a timer);
                   exit 1 if an archive failed verification (its volume is kept)
verify ARCHIVE     re-read an archive: checksum and file list against its manifest
restore ARCHIVE    put an archived home back into its volume (or --volume NAME)

The settings come from HDSS_SETTINGS (else the embedded defaults), as for the hub.
``--now`` (ISO date or time, UTC) runs ``end`` as of another day: a rehearsal, or a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from ..settings import SETTINGS_ENV, SettingsError, load_settings
from .archive import Archive, ArchiveError, restore, verify
from .model import CourseError

PROJECT_DIR = Path(__file__).resolve().parents[3]
log = logging.getLogger("hdss-course")


def parse_now(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise SystemExit(f"hdss-course: --now {text!r} is not an ISO date or time") from e
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _docker(settings: dict):
    import docker

    return docker.DockerClient(base_url=settings["docker"]["host"], version="auto")


def end_command(settings: dict, course: str | None, now: dt.datetime | None) -> int:
    from hdss_common.secretfiles import read_secret_file

    from . import hubconfig
    from .end import Ender, HubAPI

    courses, snapshots = hubconfig.prepare_courses(settings)
    if not courses:  # the daily timer runs on every host, with courses or without
        print("no courses in the settings: nothing to end")
        return 0
    gate = hubconfig.make_gate(settings, courses, snapshots)
    if now is not None:
        gate.clock = lambda: now
    try:
        token = read_secret_file(hubconfig.token_file(settings))
    except FileNotFoundError:
        raise CourseError(
            f"{hubconfig.token_file(settings)} is missing: the hub makes it when it starts "
            "with courses in its settings; start (or restart) the hub, then run this again"
        ) from None
    protected = set(settings["hub"].get("admin_users", []))
    protected |= {i for c in courses for i in c.instructors}
    client = _docker(settings)
    try:
        ender = Ender(
            gate=gate,
            hub=HubAPI(settings["hub"]["bind_url"], token),
            client=client,
            image=settings["docker"]["image"],
            prefix=settings["docker"]["prefix"],
            home_template=settings["docker"].get("home_volume", "{prefix}-home-{username}"),
            home_path="/home/jovyan",
            archive_root=hubconfig.archives(settings),
            protected=protected,
        )
        report = ender.run(only=course)
    finally:
        client.close()
    for line in report.done:
        print(f"archived  {line}")
    for line in report.kept:
        print(f"kept      {line}")
    for line in report.failed:
        print(f"FAILED    {line}", file=sys.stderr)
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="hdss-course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the courses")
    end = sub.add_parser("end", help="end the courses whose last day has passed")
    end.add_argument("--course", help="only this course")
    end.add_argument("--now", type=parse_now, help="as of this time (UTC), e.g. 2027-03-13")
    ver = sub.add_parser("verify", help="re-read an archive against its manifest")
    ver.add_argument("archive", type=Path)
    res = sub.add_parser("restore", help="restore an archived home into its volume")
    res.add_argument("archive", type=Path)
    res.add_argument("--volume", help="restore into this volume instead of the original one")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ.get(SETTINGS_ENV), PROJECT_DIR)
        if args.command == "check":
            from . import hubconfig

            courses, _ = hubconfig.prepare_courses(settings)
            print(f"{len(courses)} course(s) ok")
            return 0
        if args.command == "end":
            return end_command(settings, args.course, args.now)
        archive = Archive(args.archive.absolute())
        if args.command == "verify":
            manifest = verify(archive)
            print(f"ok: {manifest['file_count']} files, {manifest['total_bytes']} bytes")
            return 0
        client = _docker(settings)
        try:
            volume = restore(client, settings["docker"]["image"], archive, args.volume)
        finally:
            client.close()
        from . import hubconfig

        hubconfig.audit_writer(settings)(
            os.environ.get("SUDO_USER") or os.environ.get("USER") or "operator",
            "course.restore",
            f"volume:{volume}",
            "ok",
            archive=str(archive.path),
        )
        print(f"restored {archive.path.name} into the volume {volume}")
        return 0
    except (SettingsError, CourseError, ArchiveError) as e:
        print(f"hdss-course: {e}", file=sys.stderr)
        return 2 if not isinstance(e, ArchiveError) else 1


if __name__ == "__main__":
    sys.exit(main())
