"""Unit tests of images/build.py: hash tags, build contexts, mirror detection (no engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.images.conftest import BUILD_PY


@pytest.fixture
def fake_repo(tmp_path) -> Path:
    """A project checkout with the real single-user image folder and a tiny course."""
    repo = tmp_path / "repo"
    shutil.copytree(
        PROJECT_DIR / "images" / "singleuser",
        repo / "images" / "singleuser",
        ignore=shutil.ignore_patterns("ca-certificates"),
    )
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "01-intro.ipynb").write_text('{"cells": []}')
    (repo / "notebooks" / ".ipynb_checkpoints").mkdir()
    (repo / "notebooks" / ".ipynb_checkpoints" / "01-intro-checkpoint.ipynb").write_text("{}")
    helper = repo / "datasets" / "hdss_data"
    (helper / "__pycache__").mkdir(parents=True)
    (helper / "__init__.py").write_text("VIEWS = []\n")
    guard = repo / "spawner" / "hdss_secure"
    guard.mkdir(parents=True)
    (guard / "__init__.py").write_text("")
    (repo / "spawner" / "hdss_spawner").mkdir()
    (repo / "spawner" / "hdss_spawner" / "spawner.py").write_text("")  # hub side: not copied
    (helper / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    return repo


def tag_of(build, repo: Path, where: Path, ca_dirs=(), args=None, base="hdss/base:abc") -> str:
    context = build.assemble_context("singleuser", where, repo=repo, ca_dirs=ca_dirs)
    build_args = args or {"PIP_INDEX_URL": "https://pypi.org/simple", "BASE_IMAGE": base}
    return build.image_tag("singleuser", context, build_args, base)


def test_context_holds_course_helper_and_certs_but_no_caches(build, fake_repo, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "site.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    ctx = build.assemble_context("singleuser", tmp_path / "ctx", repo=fake_repo, ca_dirs=[certs])
    files = sorted(p.relative_to(ctx).as_posix() for p in ctx.rglob("*") if p.is_file())
    assert "notebooks/01-intro.ipynb" in files
    assert "lib/hdss_data/__init__.py" in files
    assert "lib/hdss_secure/__init__.py" in files
    assert not [f for f in files if "hdss_spawner" in f]
    assert "jupyter/hdss-secure.json" in files
    assert "ca-certificates/site.crt" in files
    assert "Dockerfile" in files and "requirements.txt" in files and "hdss-start" in files
    assert not [f for f in files if "__pycache__" in f or ".ipynb_checkpoints" in f]


def test_context_in_a_git_checkout_leaves_out_ignored_files(build, fake_repo, tmp_path):
    (fake_repo / ".gitignore").write_text("notebooks/output/\n__pycache__/\n")
    (fake_repo / "notebooks" / "output").mkdir()
    (fake_repo / "notebooks" / "output" / "run.ipynb").write_text("{}")
    subprocess.run(["git", "init", "-q", str(fake_repo)], check=True)
    ctx = build.assemble_context("singleuser", tmp_path / "ctx", repo=fake_repo)
    files = sorted(p.relative_to(ctx).as_posix() for p in ctx.rglob("*") if p.is_file())
    assert "notebooks/01-intro.ipynb" in files  # untracked but not ignored: included
    assert "lib/hdss_data/__init__.py" in files
    assert not [f for f in files if "output" in f or "__pycache__" in f or "checkpoint" in f]


def test_context_without_course_or_helper_still_has_the_folders(build, fake_repo, tmp_path):
    shutil.rmtree(fake_repo / "notebooks")
    shutil.rmtree(fake_repo / "datasets")
    ctx = build.assemble_context("singleuser", tmp_path / "ctx", repo=fake_repo)
    for folder in ("notebooks", "lib", "ca-certificates"):
        assert (ctx / folder).is_dir(), folder


def test_tag_is_stable(build, fake_repo, tmp_path):
    first = tag_of(build, fake_repo, tmp_path / "a")
    os.utime(fake_repo / "notebooks" / "01-intro.ipynb", (0, 0))  # times are no input
    second = tag_of(build, fake_repo, tmp_path / "b")
    assert first == second
    assert first.startswith("hdss/singleuser:") and len(first.split(":")[1]) == 12


@pytest.mark.parametrize("change", ["notebook", "helper", "executable", "cert", "dockerfile"])
def test_tag_changes_with_every_file_input(build, fake_repo, tmp_path, change):
    certs = tmp_path / "certs"
    certs.mkdir()
    before = tag_of(build, fake_repo, tmp_path / "a", ca_dirs=[certs])
    if change == "notebook":
        (fake_repo / "notebooks" / "01-intro.ipynb").write_text('{"cells": [1]}')
    elif change == "helper":
        (fake_repo / "datasets" / "hdss_data" / "views.py").write_text("")
    elif change == "executable":
        (fake_repo / "images" / "singleuser" / "hdss-start").chmod(0o644)
    elif change == "cert":
        (certs / "hospital.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    elif change == "dockerfile":
        with (fake_repo / "images" / "singleuser" / "Dockerfile").open("a") as f:
            f.write("\n# changed\n")
    assert tag_of(build, fake_repo, tmp_path / "b", ca_dirs=[certs]) != before


def test_tag_changes_with_build_args_and_base(build, fake_repo, tmp_path):
    args = {"PIP_INDEX_URL": "https://pypi.org/simple", "BASE_IMAGE": "hdss/base:abc"}
    plain = tag_of(build, fake_repo, tmp_path / "a", args=args)
    mirror = {**args, "PIP_INDEX_URL": "https://pypi.example.org/simple"}
    assert tag_of(build, fake_repo, tmp_path / "b", args=mirror) != plain
    assert tag_of(build, fake_repo, tmp_path / "c", args=args, base="sha256:f00") != plain


def test_base_tag_depends_on_mirror_suite_and_arch(build):
    tag = build.base_tag("http://deb.debian.org/debian", "bookworm", "x86_64")
    assert tag == build.base_tag("http://deb.debian.org/debian/", "bookworm", "x86_64")
    assert tag != build.base_tag("http://mirror.example/debian", "bookworm", "x86_64")
    assert tag != build.base_tag("http://deb.debian.org/debian", "trixie", "x86_64")
    assert tag != build.base_tag("http://deb.debian.org/debian", "bookworm", "aarch64")


def print_tags(*args: str) -> list[str]:
    r = subprocess.run(
        [
            sys.executable,
            str(BUILD_PY),
            "--print-tag",
            "--ca-dir",
            "",
            "--mirror",
            "http://deb.debian.org/debian",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return r.stdout.split()


def test_print_tag_is_stable_and_builds_nothing():
    tags = print_tags("--only", "singleuser", "--only", "stock")
    assert [t.split(":")[0] for t in tags] == ["hdss/base", "hdss/singleuser", "hdss/stock"]
    assert print_tags("--only", "singleuser", "--only", "stock") == tags
    other_index = print_tags("--only", "singleuser", "--pip-index-url", "http://127.0.0.1:9/s")
    assert other_index[0] == tags[0] and other_index[1] != tags[1]


def test_plan_builds_the_default_base_first_unless_a_base_is_given(build):
    assert build.plan(["singleuser"], None) == ["base", "singleuser"]
    assert build.plan(["stock", "singleuser"], None) == ["base", "singleuser", "stock"]
    assert build.plan(["singleuser"], "site/python:3.11") == ["singleuser"]
    with pytest.raises(build.BuildError, match="--base-image"):
        build.plan(["base"], "site/python:3.11")


def test_host_mirror_reads_deb822_and_one_line_sources(build, tmp_path):
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    assert build.host_mirror("bookworm", apt) == build.DEFAULT_MIRROR
    (apt / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://one.example/debian/ bookworm main\n"
    )
    assert build.host_mirror("bookworm", apt) == "http://one.example/debian"
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# http://snapshot.example\nURIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    )
    assert build.host_mirror("bookworm", apt) == "http://mirror.example/debian"


def test_singleuser_pins_the_hubs_jupyterhub(build, tmp_path):
    pins = (PROJECT_DIR / "images" / "singleuser" / "requirements.txt").read_text()
    assert f"\njupyterhub=={version('jupyterhub')}\n" in pins
    build.check_hub_version("singleuser", PROJECT_DIR / "images" / "singleuser")
    (tmp_path / "requirements.txt").write_text("jupyterhub==0.1\n")
    with pytest.raises(build.BuildError, match="lock.py"):
        build.check_hub_version("singleuser", tmp_path)


def test_singleuser_pins_leave_out_the_slow_import():
    pins = (PROJECT_DIR / "images" / "singleuser" / "requirements.txt").read_text().lower()
    assert "\nrfc3987-syntax==" not in pins and "\nlark==" not in pins
    assert "\njsonschema==" in pins  # its format checks run, minus the IRI ones


def test_no_engine_is_a_clear_error(build):
    fake = build.Docker("/bin/false")
    with pytest.raises(build.BuildError, match="start it"):
        fake.check_engine()


def test_unreachable_index_is_a_clear_error(build):
    with pytest.raises(build.BuildError, match="package index is unreachable"):
        build.check_reachable("http://127.0.0.1:9/simple/pip/", "the Python package index", "x")
