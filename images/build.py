"""Build the sandbox's container images, tagged by a hash of their inputs.

    .venv/bin/python images/build.py [--only base|singleuser|stock|slurmnode] [--base-image REF]
                                     [--mirror URL] [--pip-index-url URL] [--print-tag]

Each image is tagged ``hdss/<image>:<hash>`` and ``hdss/<image>:latest``. The hash covers
every input: the files of the build context (Dockerfile, pins, start script, CA
certificates, course notebooks, data helper), the build arguments and the base image. When
the hash tag exists the build is skipped and only ``:latest`` is re-pointed, so a warm
machine builds nothing.

The default base image is made offline by ``images/base/build-base.sh`` (debootstrap from
a Debian mirror, then ``docker import``); ``--base-image`` replaces it with any image that
has Python 3.11 with venv, tini and useradd (e.g. a site's own mirrored image).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE_SCRIPT = HERE / "base" / "build-base.sh"
HASH_VERSION = "hdss-images-1"  # bump to retag everything when the hashing itself changes
REPOSITORY = "hdss"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_INDEX = "https://pypi.org/simple"
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
IMAGES = ("base", "singleuser", "stock", "slurmnode")
# Python packages copied into the single-user image's /opt/hdss/lib, by their folder in
# the repo: the data helper, the guard of secure servers (a Jupyter server extension) and
# the airlock's output checks (the hdss-airlock command).
LIB_PACKAGES = {"hdss_data": "datasets", "hdss_secure": "spawner", "hdss_airlock": "common"}
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


class BuildError(Exception):
    """A build cannot go on: the message says what is wrong and what to do."""


def log(msg: str) -> None:
    print(f"images: {msg}", flush=True)


# --- inputs and hashes --------------------------------------------------------------------


def tree_digest(root: Path) -> str:
    """sha256 over every file under ``root``: relative path, executable bit, content."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if not p.is_dir()):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            h.update(f"L {rel} -> {os.readlink(path)}\n".encode())
            continue
        mode = "x" if os.access(path, os.X_OK) else "-"
        h.update(f"F {rel} {mode} {hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def inputs_hash(parts: Mapping[str, str]) -> str:
    """A short, stable hash of named inputs (order-independent)."""
    h = hashlib.sha256(HASH_VERSION.encode())
    for key in sorted(parts):
        h.update(f"\n{key}={parts[key]}".encode())
    return h.hexdigest()[:12]


def base_tag(mirror: str, suite: str = SUITE, arch: str | None = None) -> str:
    """The tag of the default base image for this mirror, suite and architecture."""
    parts = {
        "script": hashlib.sha256(BASE_SCRIPT.read_bytes()).hexdigest(),
        "mirror": mirror.rstrip("/"),
        "suite": suite,
        "arch": arch or platform.machine(),
    }
    return f"{REPOSITORY}/base:{inputs_hash(parts)}"


def image_tag(image: str, context: Path, build_args: Mapping[str, str], base_id: str) -> str:
    """The tag of ``image`` built from ``context`` with ``build_args`` on base ``base_id``."""
    parts = {f"arg:{k}": v for k, v in build_args.items()}
    parts |= {"context": tree_digest(context), "base": base_id}
    return f"{REPOSITORY}/{image}:{inputs_hash(parts)}"


def ca_certificates(ca_dirs: Iterable[Path]) -> list[Path]:
    """Every ``*.crt`` in ``ca_dirs`` (missing folders are fine), sorted, by file name."""
    found: dict[str, Path] = {}
    for ca_dir in ca_dirs:
        if Path(ca_dir).is_dir():
            for crt in sorted(Path(ca_dir).rglob("*.crt")):
                found.setdefault(crt.name, crt)
    return [found[name] for name in sorted(found)]


def assemble_context(
    image: str, dest: Path, repo: Path = REPO, ca_dirs: Iterable[Path] = ()
) -> Path:
    """Lay out the build context of ``image`` in the empty folder ``dest``.

    The image's folder, plus ``ca-certificates/`` (always present, maybe empty) and, for
    the single-user image, ``notebooks/`` (the course) and ``lib/`` (the data helper and
    the secure servers' guard, ``LIB_PACKAGES``).
    """
    src = repo / "images" / image
    if not (src / "Dockerfile").is_file():
        raise BuildError(f"{src}/Dockerfile is missing: is {repo} the project checkout?")
    shutil.copytree(src, dest, ignore=IGNORE, dirs_exist_ok=True)
    certs = dest / "ca-certificates"
    certs.mkdir(exist_ok=True)
    for crt in ca_certificates(ca_dirs):
        shutil.copyfile(crt, certs / crt.name)
    if image == "singleuser":
        copy_sources(repo, "notebooks", dest / "notebooks")
        (dest / "lib").mkdir()
        for package, folder in LIB_PACKAGES.items():
            copy_sources(repo, f"{folder}/{package}", dest / "lib" / package)
    return dest


def copy_sources(repo: Path, rel: str, dest: Path) -> None:
    """Copy the folder ``repo/rel`` to ``dest`` (created even when the folder is absent).

    In a git checkout only what git would commit is copied (tracked and untracked files,
    not ignored ones such as notebook outputs); elsewhere every file but caches.
    """
    dest.mkdir(parents=True, exist_ok=True)
    src = repo / rel
    if not src.is_dir():
        return
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
         "--", rel],
        capture_output=True, text=True,
    ) if (repo / ".git").exists() and shutil.which("git") else None  # fmt: skip
    if listed is None or listed.returncode != 0:
        shutil.copytree(src, dest, ignore=IGNORE, dirs_exist_ok=True)
        return
    for name in sorted(set(listed.stdout.split("\0")) - {""}):
        path = repo / name
        parts = set(Path(name).parts)
        if not path.is_file() or parts & {"__pycache__", ".ipynb_checkpoints"}:
            continue
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)


def host_mirror(suite: str = SUITE, etc_apt: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this host's apt uses for ``suite``, else deb.debian.org."""
    for sources in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        for stanza in sources.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and suite in fields.get("suites", []):
                return fields["uris"][0].rstrip("/")
    lists = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in lists:
        if path.is_file():
            for line in path.read_text().splitlines():
                words = re.sub(r"\[.*?\]", "", line).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                    return words[1].rstrip("/")
    return DEFAULT_MIRROR


def hub_jupyterhub_version() -> str | None:
    """The jupyterhub version of the interpreter running this (the hub's venv), if any."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jupyterhub")
    except PackageNotFoundError:
        return None


def check_hub_version(image: str, context: Path) -> None:
    """The image's jupyterhub pin must equal the hub's jupyterhub version."""
    hub = hub_jupyterhub_version()
    if not (context / "requirements.txt").is_file():
        return  # an image without Python pins (the Slurm node)
    pins = (context / "requirements.txt").read_text()
    pinned = re.search(r"^jupyterhub==(\S+)", pins, re.M)
    if hub and pinned and pinned.group(1) != hub:
        raise BuildError(
            f"images/{image}/requirements.txt pins jupyterhub=={pinned.group(1)} but the hub "
            f"runs {hub}: set jupyterhub=={hub} in images/{image}/requirements.in and run "
            f".venv/bin/python images/lock.py {image}"
        )


# --- the engine and the network -----------------------------------------------------------


class Docker:
    """The Docker command-line client (Debian's /usr/bin/docker unless $DOCKER says)."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = (
            binary
            or os.environ.get("DOCKER")
            or ("/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker"))
        )
        if not self.binary:
            raise BuildError("no docker client found: install Debian's docker.io")

    def run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], text=True, **kw)

    def check_engine(self) -> None:
        try:
            r = self.run(
                "version", "--format", "{{.Server.Version}}", capture_output=True, timeout=30
            )
        except subprocess.TimeoutExpired as e:
            raise BuildError("the Docker engine did not answer within 30 s") from e
        if r.returncode != 0:
            said = (r.stderr.strip().splitlines() or ["no answer"])[-1]
            raise BuildError(
                f"no Docker engine answers ({said}): start it, as root: "
                "nohup dockerd >/var/log/dockerd.log 2>&1 & (or run make engine)"
            )

    def image_id(self, ref: str) -> str | None:
        r = self.run("image", "inspect", "--format", "{{.Id}}", ref, capture_output=True)
        return r.stdout.strip() if r.returncode == 0 else None

    def tag(self, src: str, dest: str) -> None:
        self.run("tag", src, dest, check=True)

    def hash_tags(self, repository: str) -> list[str]:
        """Every ``repository:<12 hex>`` tag present, i.e. every build this script made."""
        r = self.run(
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            repository,
            capture_output=True,
            check=True,
        )
        return [t for t in r.stdout.split() if re.fullmatch(r"[^:]+:[0-9a-f]{12}", t)]

    def prune(self, repository: str, keep: str) -> None:
        """Untag/remove older hash tags of ``repository``; ones still in use stay."""
        for old in self.hash_tags(repository):
            if old != keep:
                r = self.run("rmi", old, capture_output=True)
                log(f"removed the older {old}" if r.returncode == 0 else f"kept {old}: in use")


def check_reachable(url: str, what: str, hint: str) -> None:
    """Raise a BuildError naming ``what`` and ``hint`` when ``url`` does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            response.read(1)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise BuildError(f"{what} is unreachable at {url} ({reason}): {hint}") from e


# --- building -------------------------------------------------------------------------------


def build_base(docker: Docker, tag: str, mirror: str) -> None:
    check_reachable(
        f"{mirror}/dists/{SUITE}/Release",
        "the Debian mirror",
        "pass --mirror with a reachable Debian mirror, or --base-image with an image you have",
    )
    r = subprocess.run(
        [str(BASE_SCRIPT), tag, mirror, SUITE], env={**os.environ, "DOCKER": docker.binary}
    )
    if r.returncode != 0:
        raise BuildError(f"building the base image {tag} failed (see above)")


def build_image(
    docker: Docker, tag: str, context: Path, build_args: Mapping[str, str], quiet: bool = False
) -> None:
    index = build_args["PIP_INDEX_URL"].rstrip("/")
    check_reachable(
        f"{index}/pip/",
        "the Python package index",
        "check the network, put your site's CA certificates in images/ca-certificates/, "
        "or pass --pip-index-url with a reachable mirror",
    )
    image = tag.split("/", 1)[1].split(":")[0]
    cmd = [
        "build",
        "--pull=false",
        "--tag",
        tag,
        "--label",
        f"org.hdss.image={image}",
        "--label",
        f"org.hdss.inputs={tag.rsplit(':', 1)[1]}",
    ]
    for key, value in sorted(build_args.items()):
        cmd += ["--build-arg", f"{key}={value}"]
    r = docker.run(*cmd, str(context), capture_output=quiet)
    if r.returncode != 0:
        if quiet:
            print(r.stdout[-5000:], r.stderr[-5000:], sep="\n", file=sys.stderr)
        raise BuildError(
            f"docker build of {tag} failed (see the output above); if pip could not download, "
            "check the CA certificates and --pip-index-url"
        )


def resolve_base(docker: Docker | None, base_image: str | None, mirror: str) -> tuple[str, str]:
    """(reference, identity) of the base image for the Dockerfiles' BASE_IMAGE."""
    if not base_image:
        tag = base_tag(mirror)
        return tag, tag  # the default base's tag is itself a hash of its inputs
    if docker is None:
        raise BuildError("--base-image needs the Docker engine to resolve the image id")
    image_id = docker.image_id(base_image)
    if image_id is None:
        log(f"base image {base_image} is not here; trying docker pull")
        if docker.run("pull", base_image).returncode != 0 or not docker.image_id(base_image):
            raise BuildError(
                f"base image {base_image} is neither here nor pullable: docker load it, or "
                "leave out --base-image to build the default base with debootstrap"
            )
        image_id = docker.image_id(base_image)
    return base_image, image_id


def plan(only: list[str], base_image: str | None) -> list[str]:
    """The images to build, in order; the default base comes first when another needs it."""
    wanted = [i for i in IMAGES if i in only]
    if not base_image and any(i != "base" for i in wanted) and "base" not in wanted:
        wanted.insert(0, "base")
    if base_image and "base" in wanted:
        raise BuildError("--only base builds the default base; it makes no sense with --base-image")
    return wanted


def run(args: argparse.Namespace) -> list[str]:
    """Build (or just tag) the chosen images; return their hash tags."""
    mirror = (args.mirror or host_mirror()).rstrip("/")
    build_args_common = {"PIP_INDEX_URL": args.pip_index_url}
    ca_dirs = [HERE / "ca-certificates", *([Path(args.ca_dir)] if args.ca_dir else [])]
    images = plan(args.only or ["singleuser"], args.base_image)
    docker = None
    if not args.print_tag or args.base_image:
        docker = Docker()
        docker.check_engine()
    base_ref, base_id = resolve_base(docker, args.base_image, mirror)
    tags = []
    for image in images:
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"hdss-{image}-") as tmp:
            if image == "base":
                tag = base_ref
            else:
                context = assemble_context(image, Path(tmp) / "context", ca_dirs=ca_dirs)
                check_hub_version(image, context)
                build_args = {**build_args_common, "BASE_IMAGE": base_ref}
                tag = image_tag(image, context, build_args, base_id)
            tags.append(tag)
            if args.print_tag:
                print(tag)
                continue
            latest = tag.rsplit(":", 1)[0] + ":latest"
            if docker.image_id(tag):
                log(f"{image}: {tag} is up to date, nothing to build")
            else:
                log(f"{image}: building {tag}")
                if image == "base":
                    build_base(docker, tag, mirror)
                else:
                    build_image(docker, tag, context, build_args, quiet=args.quiet)
                log(f"{image}: built {tag} in {time.monotonic() - start:.0f} s")
            docker.tag(tag, latest)
            log(f"{image}: {latest} -> {tag}")
            if not args.keep_old:
                docker.prune(tag.rsplit(":", 1)[0], keep=tag)
    return tags


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Build the sandbox images, tagged by a hash of their inputs."
    )
    p.add_argument(
        "--only",
        action="append",
        choices=IMAGES,
        help="build only this image (repeatable; default: singleuser, with the "
        "default base it needs)",
    )
    p.add_argument(
        "--base-image",
        metavar="REF",
        help="base image for singleuser and stock instead of the debootstrap one",
    )
    p.add_argument(
        "--mirror",
        metavar="URL",
        help="Debian mirror for the default base (default: this host's apt source)",
    )
    p.add_argument(
        "--pip-index-url",
        metavar="URL",
        default=DEFAULT_INDEX,
        help=f"Python package index used in the builds (default {DEFAULT_INDEX})",
    )
    p.add_argument(
        "--ca-dir",
        metavar="DIR",
        default=str(HOST_CA_DIR),
        help="extra CA certificates (*.crt) to trust in the images, besides "
        f"images/ca-certificates/ (default {HOST_CA_DIR}; '' for none)",
    )
    p.add_argument(
        "--print-tag",
        action="store_true",
        help="print the hash tag of each chosen image and build nothing",
    )
    p.add_argument(
        "--keep-old",
        action="store_true",
        help="keep the images of older inputs (default: remove those no container uses)",
    )
    p.add_argument(
        "--quiet", action="store_true", help="show docker build output only when a build fails"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except BuildError as e:
        print(f"images: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
