"""Bad settings stop the hub at start with one message naming the key and what to do."""

from __future__ import annotations

import docker.errors
import pytest
import yaml
from hdss_hub import preflight
from hdss_hub.configure import HubStartError, configure
from traitlets.config import Config


def test_a_state_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(preflight.PreflightError, match=r"hub.state_dir .*file/state cannot be"):
        preflight.check_state_dir(str(blocker / "state"))
    preflight.check_state_dir(str(tmp_path / "ok" / "state"))  # positive control
    assert (tmp_path / "ok" / "state").is_dir()


@pytest.mark.parametrize("root", [None, "", "/nonexistent/restricted"])
def test_a_missing_restricted_root(root):
    with pytest.raises(preflight.PreflightError, match="data.restricted_root"):
        preflight.check_restricted_root(root)


def test_an_existing_empty_restricted_root_is_fine(tmp_path):
    preflight.check_restricted_root(str(tmp_path))


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("nonsense", "not a usable database URL"),
        ("nosuchdriver://x/y", "not a usable database URL"),
        ("sqlite:////nonexistent/dir/ledger.sqlite", "does not accept a connection"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/db", "does not accept a connection"),
    ],
)
def test_a_bad_database_url(url, words):
    with pytest.raises(preflight.PreflightError) as e:
        preflight.check_database(url, "ledger.db_url")
    assert words in str(e.value) and "ledger.db_url" in str(e.value)


def test_a_good_database_url(tmp_path):
    preflight.check_database(f"sqlite:///{tmp_path / 'ledger.sqlite'}", "ledger.db_url")


class RefusingClient:
    """A Docker client whose engine answers every call with an API error."""

    def __init__(self):
        error = docker.errors.APIError("500", explanation="could not find an available pool")
        self.networks = self.images = self
        self.error = error

    def get(self, name):
        raise self.error


def test_engine_errors_name_the_setting():
    with pytest.raises(preflight.PreflightError, match=r"docker.network.*available pool"):
        preflight.ensure_network(RefusingClient(), "hdss-sandbox")
    with pytest.raises(preflight.PreflightError, match=r"docker.image.*available pool"):
        preflight.check_image(RefusingClient(), "hdss/singleuser:latest")


def test_a_bad_ledger_url_stops_the_hub_before_the_first_spawn(tmp_path):
    data = tmp_path / "data"
    (data / "synthetic").mkdir(parents=True)
    (data / "restricted").mkdir()
    settings = {
        "hub": {"state_dir": str(tmp_path / "state"), "bind_url": "http://127.0.0.1:1"},
        "data": {
            "synthetic_root": str(data / "synthetic"),
            "restricted_root": str(data / "restricted"),
        },
        "ledger": {"enabled": True, "db_url": "sqlite:////nonexistent/dir/ledger.sqlite"},
    }
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    with pytest.raises(HubStartError, match="ledger.db_url"):
        configure(Config(), str(path), tmp_path)
