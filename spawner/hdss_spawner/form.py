"""The spawn form: only the profiles the user may pick, with their limits and data."""

from __future__ import annotations

from html import escape

from hdss_common.catalog import CatalogEntry

from .profiles import Profile


def render_form(
    profiles: list[Profile], datasets: list[CatalogEntry], selected: str = "", note: str = ""
) -> str:
    """HTML for JupyterHub's spawn page (inserted inside its <form>).

    ``note``: a warning about the user's home (e.g. over its disk quota), shown first."""
    warning = f'<p class="alert alert-warning hdss-home-note">{escape(note)}</p>' if note else ""
    if not profiles:
        return (
            '<p class="alert alert-warning">No server profile is offered to you. '
            "Ask a hub administrator to add you to a course or research group.</p>"
        )
    selected = selected or profiles[0].name
    rows = []
    for p in profiles:
        checked = " checked" if p.name == selected else ""
        rows.append(
            f'<div class="form-check hdss-profile">'
            f'<input class="form-check-input" type="radio" name="profile" '
            f'id="profile-{escape(p.name)}" value="{escape(p.name)}"{checked}>'
            f'<label class="form-check-label" for="profile-{escape(p.name)}">'
            f"<strong>{escape(p.title)}</strong> &mdash; {escape(p.limits)}"
            f"<br><small>{escape(p.description)}</small></label></div>"
        )
    if datasets:
        items = "".join(
            f"<li><code>{escape(d.mount_path)}</code> &mdash; {escape(d.name)} "
            f"version {escape(d.version)} (read-only)</li>"
            for d in datasets
        )
        data = f"<p>Data mounted in your server:</p><ul>{items}</ul>"
    else:
        data = "<p>No dataset is published yet.</p>"
    return f'{warning}<fieldset class="hdss-spawn-form"><legend>Choose a profile</legend>{"".join(rows)}</fieldset>{data}'


def render_secure_form(
    project_id: str, profile: Profile | None, permission, reason: str = ""
) -> str:
    """The spawn page of a secure server: the project, its permission and data, or why not."""
    if permission is None or profile is None:
        return (
            f'<p class="alert alert-warning">You cannot start the secure server of project '
            f"<strong>{escape(project_id)}</strong>: {escape(reason)}</p>"
        )
    items = "".join(
        f"<li><code>/data/restricted/{escape(name)}</code> (read-only)</li>"
        for name in permission.datasets
    )
    return (
        f'<fieldset class="hdss-secure-form"><legend>Secure server of project '
        f"{escape(project_id)}</legend>"
        f"<p>Permission {escape(permission.reference)} from {escape(permission.authority)}, "
        f"valid until {permission.valid_until:%Y-%m-%d}. {escape(profile.limits)}.</p>"
        f"<p>Restricted data mounted:</p><ul>{items}</ul>"
        "<p>No network egress, no file downloads; results leave only through output "
        "checking. Every start and stop is audited.</p></fieldset>"
    )
