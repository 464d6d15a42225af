"""Path safety: selections, archive members (fast, no Docker)."""

from __future__ import annotations

import tarfile

import pytest
from hdss_hub.promotion.paths import UnsafePath, member_problem, safe_relpath, strip_top


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("study/a.ipynb", "study/a.ipynb"),
        ("./a.ipynb", "a.ipynb"),
        ("a//b.csv", "a/b.csv"),
        ("my study/a b.ipynb", "my study/a b.ipynb"),
    ],
)
def test_safe_paths_are_normalised(raw, clean):
    assert safe_relpath(raw) == clean


@pytest.mark.parametrize(
    "raw, message",
    [
        ("../a", "'..'"),
        ("a/../../b", "'..'"),
        ("/etc/passwd", "absolute"),
        ("", "empty"),
        ("a\\b", "backslash"),
        (".ssh/id_rsa", "not allowed"),
        ("a\x00b", "backslash"),
        ("a/" * 10 + "b", "deep"),
        ("x;rm -rf", "not allowed"),
        ("a'b", "not allowed"),
    ],
)
def test_unsafe_paths_are_refused(raw, message):
    with pytest.raises(UnsafePath, match=message):
        safe_relpath(raw)


def member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


def test_archive_members():
    assert member_problem(member("a.csv"), 10) is None
    assert "link" in member_problem(member("a", tarfile.SYMTYPE, link="/etc/passwd"), 10)
    assert "link" in member_problem(member("a", tarfile.LNKTYPE, link="b"), 10)
    assert "regular" in member_problem(member("a", tarfile.CHRTYPE), 10)
    assert "over the limit" in member_problem(member("a.csv", size=11), 10)
    assert "'..'" in member_problem(member("../a.csv"), 10)
    assert member_problem(member("d", tarfile.DIRTYPE), 10) is None


def test_strip_top():
    assert strip_top("outbox/a.csv", "outbox") == "a.csv"
    assert strip_top("outbox", "outbox") == ""
    assert strip_top("a.csv", "a.csv") == ""
