"""``[[alerts.channel]]`` in the marketplaces file: where watched alerts go.

Secrets never sit in the file: a channel names the environment variables that hold them (``secret_env``,
``password_env``, and ``url_env`` for a robot whose webhook URL carries its token). A URL given directly
is shown redacted wherever the configuration is dumped (``runs`` table, logs).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from core.redact import redact_url

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


def from_env(name: str | None) -> str | None:
    """The value of the environment variable ``name`` (``None`` for no name); a ``ValueError`` when unset."""
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"environment variable {name} is not set")
    return value


class ChannelBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")] | None = None
    """How ``bijia alerts`` and the delivery log name it (default: its type, numbered when repeated)."""
    firehose: bool = False
    """Also send the listing-level alerts of ``[alerts] firehose`` (every drop/rise/stock change)."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0


def _check_url(value: str | None) -> str | None:
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {redact_url(value)!r}")
    return value


class UrlChannel(ChannelBase):
    url: str | None = None
    url_env: EnvName | None = None
    """The variable holding the URL (robots' URLs carry their token: keep them out of the file)."""
    secret_env: EnvName | None = None
    """The variable holding the signing secret (webhook HMAC, DingTalk/Feishu 加签)."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_serializer("url")
    def _redacted(self, value: str | None) -> str | None:
        return None if value is None else redact_url(value)

    @model_validator(mode="after")
    def _one_url(self) -> UrlChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and url_env")
        return self

    def resolved_url(self) -> str:
        """The URL (read from ``url_env`` at send time); a ``ValueError`` naming a missing variable."""
        if self.url is not None:
            return self.url
        return _check_url(from_env(self.url_env)) or ""

    def secret(self) -> str | None:
        """The signing secret, read from ``secret_env`` at send time."""
        return from_env(self.secret_env)


class WebhookChannel(UrlChannel):
    """A JSON POST ``{"run_id", "count", "alerts"}``, signed ``X-Bijia-Signature: sha256=HMAC(ts.body)``."""

    type: Literal["webhook"]


class WeComChannel(UrlChannel):
    """企业微信群机器人: ``{"msgtype": "markdown", "markdown": {"content"}}``."""

    type: Literal["wecom"]


class DingTalkChannel(UrlChannel):
    """钉钉自定义机器人: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; 加签 with ``secret_env``."""

    type: Literal["dingtalk"]


class FeishuChannel(UrlChannel):
    """飞书自定义机器人: ``{"msg_type": "text", "content": {"text"}}``; 签名校验 with ``secret_env``."""

    type: Literal["feishu"]


class EmailChannel(ChannelBase):
    """SMTP: one message per run to ``to``."""

    type: Literal["email"]
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: EnvName | None = None
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    to: Annotated[list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]], Field(min_length=1)]

    def password(self) -> str | None:
        return from_env(self.password_env)


Channel = Annotated[
    WebhookChannel | WeComChannel | DingTalkChannel | FeishuChannel | EmailChannel,
    Field(discriminator="type"),
]


def channel_names(channels: list[Channel]) -> list[str]:
    """Each channel's name: its own, else its type (``wecom``, ``wecom-2`` …)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for c in channels:
        base = c.name or c.type
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names
