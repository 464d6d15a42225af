"""Values shaped like person ids: CPR numbers, pseudonymised person ids (a letter then 9
letters or digits, in either case), hashes and UUIDs."""

from __future__ import annotations

import re

CPR = re.compile(r"(?<![\w.,/:-])(\d{2})(0[1-9]|1[0-2])(\d{2})-?(\d{4})(?![\w.,/:-])")
PNR = re.compile(r"(?<![0-9A-Za-z])[A-Za-z][0-9A-Za-z]{9}(?![0-9A-Za-z])")
HEX = re.compile(r"(?<![0-9A-Za-z])(?<!0x)(?<!IPY_MODEL_)[0-9a-fA-F]{16,128}(?![0-9A-Za-z])")
UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}(?![0-9A-Za-z])"
)
LOOSE_PNR = re.compile(r"^[A-Za-z][0-9A-Za-z]{9}$")
_QUICK = re.compile(r"\d")


def _pnr_like(token: str) -> bool:
    tail = token[1:]
    return (token.isupper() or token.islower()) and any(ch.isdigit() for ch in tail)


def _cpr_day_ok(m: re.Match) -> bool:
    day = int(m.group(1))
    return 1 <= day <= 31 or 61 <= day <= 91


def _hex_ok(token: str) -> bool:
    return (
        (token.islower() or token.isupper() or token.isdigit())
        and any(c.isdigit() for c in token)
        and any(c.isalpha() for c in token)
    )


def find(text: str, *, hashes: bool = True) -> str | None:
    """What kind of person id ``text`` holds, or None."""
    if not text or not _QUICK.search(text):
        return None
    for m in CPR.finditer(text):
        if _cpr_day_ok(m):
            return "a CPR number"
    for m in PNR.finditer(text):
        if _pnr_like(m.group()):
            return "a pseudonymised person id"
    if hashes:
        if UUID.search(text):
            return "a UUID (a person key?)"
        for m in HEX.finditer(text):
            if _hex_ok(m.group()):
                return "a hash (a hashed person id?)"
    return None


def loose(value: str) -> bool:
    """Shaped like a pseudonymised id even without a digit (for whole columns)."""
    v = value.strip()
    return bool(LOOSE_PNR.match(v)) and (v.isupper() or v.islower())
