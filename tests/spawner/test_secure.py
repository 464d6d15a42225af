from types import SimpleNamespace

import pytest
from hdss_spawner import secure
from tornado.web import HTTPError


def test_secure_server_names_carry_the_project():
    assert secure.project_of("secure-p2026-001") == "p2026-001"
    assert secure.project_of("secure-") is None
    assert secure.project_of("") is None
    assert secure.project_of("analysis") is None


def test_restricted_entries_need_a_root():
    with pytest.raises(HTTPError) as e:
        secure.restricted_entries("", ("dk-restricted",))
    assert e.value.status_code == 503


def test_restricted_entries_refuse_unpublished_datasets(tmp_path):
    with pytest.raises(HTTPError, match="not published: nope"):
        secure.restricted_entries(str(tmp_path), ("nope",))


def test_restricted_entries_pick_exactly_the_permitted(tmp_path):
    for name in ("a", "b"):
        version = tmp_path / name / "v1"
        version.mkdir(parents=True)
        (version / "datapackage.json").write_text("{}")
    entries = secure.restricted_entries(str(tmp_path), ("b",))
    assert [(e.name, e.mount_path) for e in entries] == [("b", "/data/restricted/b")]


def test_denial_names_the_project_reason_and_stewards():
    text = secure.denial_message("p1", "no permission", "stewards")
    assert "p1" in text and "no permission" in text and "stewards" in text


def test_no_download_args_disable_files_and_export():
    assert any("files_handler_class=None" in a for a in secure.NO_DOWNLOAD_ARGS)
    assert any("Exporter.enabled=False" in a for a in secure.NO_DOWNLOAD_ARGS)


def test_a_permission_that_still_names_the_mounted_data_covers_it():
    grant = SimpleNamespace(datasets=("a", "b"))
    assert secure.uncovered(grant, ["a"]) == ""
    assert secure.uncovered(grant, ["a", "b"]) == ""


def test_an_amended_or_ended_permission_does_not():
    assert "no longer active" in secure.uncovered(None, ["a"])
    assert "b" in secure.uncovered(SimpleNamespace(datasets=("a",)), ["a", "b"])


def test_no_download_args_make_a_guard_that_fails_to_load_stop_the_server():
    assert "--ServerApp.reraise_server_extension_failures=True" in secure.NO_DOWNLOAD_ARGS


def requested_by(who):
    return SimpleNamespace(current_user=who)


def test_only_the_owner_or_a_configured_service_starts_a_secure_server():
    owner = SimpleNamespace(name="res", kind="user")
    assert secure.requester_refusal(requested_by(owner), "res") == ("res", "")
    service = SimpleNamespace(name="ops", kind="service", from_config=True)
    assert secure.requester_refusal(requested_by(service), "res") == ("ops", "")


@pytest.mark.abuse
@pytest.mark.parametrize(
    "who",
    [
        SimpleNamespace(name="admin", kind="user", admin=True),
        SimpleNamespace(name="res2", kind="user"),
        SimpleNamespace(name="added-at-runtime", kind="service", from_config=False),
    ],
)
def test_anyone_else_is_refused_by_name(who):
    name, reason = secure.requester_refusal(requested_by(who), "res")
    assert name == who.name
    assert "only res can start" in reason and who.name in reason and "not data stewards" in reason


@pytest.mark.abuse
def test_a_spawn_with_no_request_behind_it_is_refused():
    assert secure.requester_refusal(None, "res")[1]
    assert secure.requester_refusal(requested_by(None), "res")[1]
