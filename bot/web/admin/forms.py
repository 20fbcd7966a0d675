"""Forms: read within limits, checked for their CSRF token, kept as typed when refused
(with each error beside its field), and done once however often they are sent.

The CSRF token is Starlette's session (a signed cookie, SameSite=Lax) plus a random
token kept in it and put in every form; a POST whose token is missing or differs is
refused (403) before anything is read into the database.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

MAX_FORM = 256 * 1024
"""Bytes of an ordinary form."""
MAX_UPLOAD = 20 * 1024 * 1024
"""Bytes of a form with a file (a contacts import, a quotas file)."""
TOKEN = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def read(request: Request, upload: bool = False) -> FormData:
    """The posted form, refused (413) past its size and (403) without the session's
    CSRF token; a form that cannot be parsed is a 400."""
    limit = MAX_UPLOAD if upload else MAX_FORM
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "A form needs its length.")
    if int(length) > limit:
        raise HTTPException(413, f"A form of at most {limit // 1024} KB, please.")
    try:
        form = await request.form(
            max_files=1 if upload else 0,
            max_fields=500,
            max_part_size=limit,
        )
    except ClientDisconnect:
        raise
    except Exception:  # multipart's and Starlette's own errors about a malformed body
        raise HTTPException(400, "That form could not be read.") from None
    given = form.get(TOKEN)
    expected = request.session.get("csrf")
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "This form has expired or did not come from Parley.")
    return form


def text(form: FormData, name: str, limit: int = 5000) -> str:
    """A text field, trimmed; a file sent in its place is nothing."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    """Every value of a repeated field (ticked boxes, several options)."""
    return [value.strip() for value in form.getlist(name) if isinstance(value, str)]


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


@dataclass
class Form:
    """What was typed, and what is wrong with it, field by field."""

    values: Mapping[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, problem: str) -> None:
        self.errors.setdefault(name, problem[:1].upper() + problem[1:])

    def get(self, name: str, default: object = "") -> object:
        return self.values.get(name, default)

    @property
    def ok(self) -> bool:
        return not self.errors


def from_form(form: FormData) -> dict[str, object]:
    """A form's values to show again: lists for repeated fields, no files, no token."""
    shown: dict[str, object] = {}
    for key in {key for key in form if key != TOKEN}:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        shown[key] = values if len(values) > 1 else (values[0] if values else "")
    return shown


def once_token() -> str:
    """A new form's one-time token: the form, sent twice, is done once."""
    return secrets.token_urlsafe(16)
