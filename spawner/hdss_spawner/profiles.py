"""Resource profiles and who may pick them.

Pure functions over plain data, so the policy is testable without a hub or an engine.
Deny by default: a profile lists the groups it is offered to; a user in none of them
gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tornado.web import HTTPError

SANDBOX = "sandbox"
SECURE = "secure"


@dataclass(frozen=True)
class Profile:
    """One choice on the spawn form: limits, and the groups it is offered to."""

    name: str
    cpu_limit: float
    mem_limit: str
    groups: tuple[str, ...]
    display_name: str = ""
    description: str = ""
    kind: str = SANDBOX
    # The Slurm backend only: where its jobs go and for how long (the Docker backend
    # ignores them). Empty: the backend's default partition, no QoS, its default time.
    partition: str = ""
    qos: str = ""
    time_limit: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def title(self) -> str:
        return self.display_name or self.name.capitalize()

    @property
    def limits(self) -> str:
        cpus = f"{self.cpu_limit:g} CPU" + ("" if self.cpu_limit == 1 else "s")
        return f"{cpus}, {self.mem_limit} memory"


def parse_profiles(raw: dict[str, dict]) -> dict[str, Profile]:
    """Profiles from the settings' ``profiles`` mapping, in the order given."""
    out = {}
    for name, spec in raw.items():
        out[name] = Profile(
            name=name,
            cpu_limit=float(spec["cpu_limit"]),
            mem_limit=str(spec["mem_limit"]),
            groups=tuple(spec.get("groups", ())),
            display_name=spec.get("display_name", ""),
            description=spec.get("description", ""),
            kind=spec.get("kind", SANDBOX),
            partition=spec.get("partition", ""),
            qos=spec.get("qos", ""),
            time_limit=spec.get("time_limit", ""),
        )
    return out


def effective_groups(user_groups: list[str], default_groups: list[str]) -> list[str]:
    """The groups policy uses: the user's hub groups, or the defaults when they have none."""
    return sorted(user_groups) if user_groups else sorted(default_groups)


def offered(profiles: dict[str, Profile], groups: list[str], kind: str = SANDBOX) -> list[Profile]:
    """The profiles of ``kind`` that a member of ``groups`` may pick, in settings order."""
    mine = set(groups)
    return [p for p in profiles.values() if p.kind == kind and mine & set(p.groups)]


def choose(profiles: dict[str, Profile], groups: list[str], requested: str | None) -> Profile:
    """The profile to start, or HTTPError(403) saying why not and what to do.

    With no request the first offered profile is used.
    """
    allowed = offered(profiles, groups)
    if not requested:
        if not allowed:
            raise HTTPError(
                403,
                "No server profile is offered to you: you are in no group that may start one "
                f"(your groups: {', '.join(groups) or 'none'}). "
                "Ask a hub administrator to add you to a course or research group.",
            )
        return allowed[0]
    profile = profiles.get(requested)
    if profile is None or profile.kind != SANDBOX:
        known = ", ".join(p.name for p in allowed) or "none"
        raise HTTPError(403, f"There is no profile {requested!r} you can start; yours: {known}.")
    if profile not in allowed:
        raise HTTPError(
            403,
            f"The {profile.title} profile is offered only to the groups "
            f"{', '.join(profile.groups)}; you are in {', '.join(groups) or 'no group'}. "
            "Pick another profile, or ask a hub administrator for access.",
        )
    return profile
