from pathlib import Path

import pytest
from hdss_hub.settings import SettingsError, defaults, load_settings, merge, schema, validate


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return path


def test_embedded_defaults_validate_and_resolve_paths(tmp_path):
    settings = load_settings(None, tmp_path)
    assert settings["auth"]["kind"] == "firstrun"
    assert settings["hub"]["state_dir"] == str(tmp_path / "var")
    assert settings["data"]["synthetic_root"] == str(tmp_path / "var/data/synthetic")
    assert settings["docker"]["host"].startswith("unix://")


def test_home_volume_template_defaults_and_must_name_the_user(tmp_path):
    assert load_settings(None, tmp_path)["docker"]["home_volume"] == "{prefix}-home-{username}"
    with pytest.raises(SettingsError, match=r"docker\.home_volume"):
        load_settings(write(tmp_path, "docker:\n  home_volume: '{prefix}-home'\n"), tmp_path)


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = write(tmp_path, "hub:\n  bindurl: http://x\n")
    with pytest.raises(SettingsError) as e:
        load_settings(path, tmp_path)
    assert str(path) in str(e.value)
    assert "hub.bindurl" in str(e.value)
    assert "bind_url" in str(e.value)  # the allowed keys are suggested


def test_unknown_top_level_section(tmp_path):
    with pytest.raises(SettingsError, match="unknown key spawner"):
        load_settings(write(tmp_path, "spawner: {}\n"), tmp_path)


def test_malformed_yaml(tmp_path):
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(write(tmp_path, "hub: [\n"), tmp_path)


def test_wrong_type_names_the_key(tmp_path):
    with pytest.raises(SettingsError, match=r"profiles\.course\.cpu_limit"):
        load_settings(write(tmp_path, "profiles:\n  course:\n    cpu_limit: lots\n"), tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", tmp_path)


def test_override_merges_objects_and_replaces_lists(tmp_path):
    path = write(tmp_path, "hub:\n  admin_users: [root1]\ndocker:\n  prefix: site\n")
    settings = load_settings(path, tmp_path)
    assert settings["hub"]["admin_users"] == ["root1"]
    assert settings["hub"]["hub_port"] == 8081  # kept from the defaults
    assert settings["docker"]["prefix"] == "site"


def test_merge_does_not_mutate_inputs():
    base = {"a": {"b": 1}}
    out = merge(base, {"a": {"c": 2}})
    assert base == {"a": {"b": 1}}
    assert out == {"a": {"b": 1, "c": 2}}


def test_schema_rejects_unknown_profile_key():
    settings = defaults()
    settings["profiles"]["course"]["gpu"] = 1
    with pytest.raises(SettingsError, match="profiles.course.gpu"):
        validate(settings, "x.yaml")


def test_every_object_in_the_schema_rejects_unknown_keys():
    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema(), "#")
