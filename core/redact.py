"""Secrets out of anything a person or a file will see: credentials in URLs, token-like query
parameters and path segments, and known secret values.

Webhook URLs carry their secret in the user info (``https://user:pass@host``), in a query parameter
(DingTalk ``access_token``, WeCom ``key``, ``sign``) or in the path (Slack ``/services/T…/B…/XXXX``,
Feishu ``/hook/<uuid>``). ``redact_url`` keeps what identifies the endpoint — scheme, host, port and the
plain path words — and masks the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
_SENSITIVE_PARAM = re.compile(
    r"token|key|secret|passw|pwd|sign|auth|credential|session|sid|code|ticket", re.IGNORECASE
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def _secret_like(segment: str) -> bool:
    """A path segment that looks generated (a token, uuid, hash): long, mixing letters and digits."""
    plain = segment.replace("-", "").replace("_", "")
    return (len(plain) >= 16 and any(c.isdigit() for c in plain) and any(c.isalpha() for c in plain)) or (
        len(plain) >= 24 and plain.isalnum()
    )


def redact_url(url: str) -> str:
    """``url`` with its password, sensitive query values and token-like path segments masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return url
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    if parts.username:
        netloc = f"{parts.username}:{MASK}@{netloc}" if parts.password is not None else f"{MASK}@{netloc}"
    path = "/".join(MASK if _secret_like(s) else s for s in parts.path.split("/"))
    query = "&".join(
        f"{k}={MASK}" if _SENSITIVE_PARAM.search(k) or _secret_like(v) else f"{k}={v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, path, query, MASK if parts.fragment else ""))


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every URL in it redacted and every known secret value (≥ 4 characters) masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|pwd|secret|token|api_?key|access_?key|private_?key|credentials?|auth)($|_)",
    re.IGNORECASE,
)


def redact_value(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string passed through :func:`redact_text` and
    every value under a secret-looking key (``smtp_password``, ``api_key``, ``token``…) masked whole."""
    known = [s for s in secrets if s]
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and _SECRET_KEY.search(k) and v else redact_value(v, known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, known) for v in value]
    if isinstance(value, str):
        return redact_text(value, known)
    return value


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that :func:`redact_url` masks (password, token parameters, token-like path
    segments), to mask them wherever else they turn up."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.password or ""]
    found += [s for s in parts.path.split("/") if _secret_like(s)]
    found += [v for k, v in parse_qsl(parts.query) if _SENSITIVE_PARAM.search(k) or _secret_like(v)]
    return [s for s in found if s]
