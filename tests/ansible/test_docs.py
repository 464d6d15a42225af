"""The Ansible README lists every role variable (fast: no engine, no Ansible run)."""

from __future__ import annotations

import pytest
import yaml

from .conftest import ANSIBLE_DIR

ROLES = sorted(p.parent.parent.name for p in ANSIBLE_DIR.glob("roles/*/defaults/main.yml"))


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_prefixed_commented_and_in_the_readme(role):
    text = (ANSIBLE_DIR / "roles" / role / "defaults" / "main.yml").read_text()
    readme = (ANSIBLE_DIR / "README.md").read_text()
    names = list(yaml.safe_load(text))
    assert names, role
    for name in names:
        assert name.startswith(f"{role}_"), f"{name} is not prefixed with {role}_"
        assert f"`{name}`" in readme, f"{name} is missing from ansible/README.md"
        block = text[: text.index(f"\n{name}:")].split("\n\n")[-1]
        assert any(line.startswith("#") for line in block.splitlines()), (
            f"{name} has no comment above it in {role}/defaults/main.yml"
        )
