"""What the hub's home page shows, computed without a hub (hdss_hub.pages)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hdss_hub.pages import TEMPLATES, apply_pages, dataset_rows, home_context, profile_rows
from hdss_hub.settings import load_settings
from traitlets.config import Config

from tests.conftest import PROJECT_DIR


def user(name: str, *groups: str):
    return SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])


@pytest.fixture
def settings(tmp_path):
    s = copy.deepcopy(load_settings(None, PROJECT_DIR))
    root = tmp_path / "synthetic"
    version = root / "dk-registers" / "1.0.0"
    version.mkdir(parents=True)
    (version / "datapackage.json").write_text('{"title": "Synthetic registers"}')
    (root / "dk-registers" / "current").symlink_to("1.0.0")
    s["data"]["synthetic_root"] = str(root)
    return s


def test_datasets_with_their_mount_paths(settings):
    rows, note = dataset_rows(settings["data"]["synthetic_root"])
    assert rows == [
        {
            "name": "dk-registers",
            "version": "1.0.0",
            "mount_path": "/data/synthetic/dk-registers",
            "access": "read-only",
            "title": "Synthetic registers",
        }
    ]
    assert note == ""


def test_missing_data_root_is_a_note_not_an_error(tmp_path):
    rows, note = dataset_rows(tmp_path / "nowhere")
    assert rows == [] and "not available" in note


def test_profiles_follow_groups(settings):
    student = profile_rows(settings["profiles"], ["students"])
    assert [p["name"] for p in student] == ["course"]
    assert student[0]["limits"] == "1 CPU, 2G memory"
    researcher = profile_rows(settings["profiles"], ["researchers"])
    assert [p["name"] for p in researcher] == ["course", "research"]
    assert profile_rows(settings["profiles"], ["nobody"]) == []


def test_home_context_for_a_student(settings):
    ctx = home_context(settings, user("anna", "students"))
    assert ctx["user"] == "anna" and ctx["groups"] == ["students"]
    assert [d["mount_path"] for d in ctx["datasets"]] == ["/data/synthetic/dk-registers"]
    assert [p["name"] for p in ctx["profiles"]] == ["course"]
    assert ctx["show_projects"] is False


def test_home_context_without_a_user_is_empty(settings):
    assert home_context(settings, None)["user"] is None


@dataclass
class FakePermission:
    project_id: str
    datasets: tuple
    state: str
    authority: str
    reference: str
    valid_until: datetime


def returning(*permissions):
    async def lookup(name: str):
        return list(permissions)

    return lookup


async def test_researcher_sees_projects_when_the_ledger_is_on(settings):
    settings["ledger"]["enabled"] = True
    perm = FakePermission(
        "p-diabetes",
        ("dk-registers",),
        "active",
        "Sundhedsdatastyrelsen",
        "FSEID-1",
        datetime(2027, 1, 31, tzinfo=UTC),
    )
    ctx = home_context(settings, user("rita", "researchers"), projects=returning(perm))
    assert ctx["show_projects"] and ctx["ledger_url"] == "/services/ledger/"
    rows = (await ctx["load_projects"]())["rows"]
    assert rows[0]["datasets"] == "/data/restricted/dk-registers"
    assert rows[0]["valid_until"] == "2027-01-31"
    student = home_context(settings, user("anna", "students"), projects=returning(perm))
    assert student["show_projects"] is False
    assert (await student["load_projects"]())["rows"] == []


async def test_a_failing_ledger_does_not_break_the_home_page(settings):
    settings["ledger"]["enabled"] = True

    async def broken(name):
        raise RuntimeError("database is locked")

    ctx = home_context(settings, user("rita", "researchers"), projects=broken)
    view = await ctx["load_projects"]()
    assert view["rows"] == [] and "cannot be shown" in view["note"]


def test_apply_pages_sets_templates_and_a_callable(settings):
    c = Config()
    apply_pages(settings, c)
    assert c.JupyterHub.template_paths == [str(TEMPLATES)]
    assert (TEMPLATES / "home.html").is_file()
    ctx = c.JupyterHub.template_vars["hdss"](user("anna", "students"))
    assert ctx["user"] == "anna"


async def test_researcher_projects_come_from_the_real_ledger(settings, tmp_path):
    from hdss_hub.ledger.core import Ledger
    from hdss_hub.pages import ledger_projects

    restricted = tmp_path / "restricted" / "dk-registers" / "1.0.0"
    restricted.mkdir(parents=True)
    (restricted / "datapackage.json").write_text("{}")
    (restricted.parent / "current").symlink_to("1.0.0")
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    Ledger(url, restricted_root=restricted.parent.parent).log(
        {
            "project_id": "p-diabetes",
            "members": ["rita"],
            "datasets": ["dk-registers"],
            "authority": "Sundhedsdatastyrelsen",
            "reference": "FSEID-00001",
            "legal_basis": "Research approval",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2099-01-01T00:00:00Z",
        },
        steward="sofie",
    )
    settings["ledger"].update(enabled=True, db_url=url)
    lookup = ledger_projects(settings)
    ctx = home_context(settings, user("rita", "researchers"), projects=lookup)
    rows = (await ctx["load_projects"]())["rows"]
    assert [p["project_id"] for p in rows] == ["p-diabetes"]
    assert rows[0]["state"] == "active"
    assert rows[0]["reference"] == "FSEID-00001"
    bo = home_context(settings, user("bo", "researchers"), projects=lookup)
    assert (await bo["load_projects"]())["rows"] == []


async def test_home_template_awaits_the_projects(settings):
    """The real home.html in an async Jinja environment, as the hub renders it."""
    import jinja2

    settings["ledger"]["enabled"] = True
    perm = FakePermission(
        "p-heart", ("dk-registers",), "active", "SDS", "FSEID-7", datetime(2027, 1, 31, tzinfo=UTC)
    )
    ctx = home_context(settings, user("rita", "researchers"), projects=returning(perm))
    env = jinja2.Environment(enable_async=True, autoescape=True)
    body = "{% set projects = hdss.load_projects() %}{% for p in projects.rows %}{{ p.project_id }}{% endfor %}"
    assert await env.from_string(body).render_async(hdss=ctx) == "p-heart"
    assert "hdss.load_projects()" in (TEMPLATES / "home.html").read_text()
