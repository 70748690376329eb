"""Sending alerts: a signed webhook, email over SMTP, and the 企业微信 / 钉钉 / 飞书 group robots.

Each ``send_*`` takes the alerts of one delivery and raises ``DeliveryError`` (whose message never holds a
secret) when the receiver did not accept them. Message formats follow each robot's documentation:

- 企业微信: ``{"msgtype": "markdown", "markdown": {"content": …}}`` (content ≤ 4096 bytes); reply ``errcode`` 0
- 钉钉: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; 加签: ``&timestamp=<ms>&sign=<urlencoded
  base64 HMAC-SHA256(secret, "<ms>\\n<secret>")>``; reply ``errcode`` 0
- 飞书: ``{"timestamp", "sign", "msg_type": "text", "content": {"text"}}``; sign = base64 HMAC-SHA256 with the
  key ``"<s>\\n<secret>"`` over an empty message; reply ``code`` 0
- webhook: ``{"run_id", "count", "alerts"}`` with ``X-Bijia-Timestamp`` and ``X-Bijia-Signature:
  sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from core.nearby import money
from core.redact import redact_text
from crawler.alert_config import (
    Channel,
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    WebhookChannel,
    WeComChannel,
)

USER_AGENT = "bijia-alerts/0.2"
WECOM_LIMIT = 4096
MAX_LINES = 30


class DeliveryError(Exception):
    """The channel did not take the alerts; the message is safe to log (secrets redacted)."""


def describe(alert: dict[str, Any]) -> str:
    """One line a person reads: what happened to which product, at what price, where."""
    title = alert.get("title") or alert.get("product_id") or "?"
    price = alert.get("price") or alert.get("landed_price")
    where = alert.get("marketplace") or ""
    now = f"{money(_dec(price))} at {where}" if price is not None else where
    kind = alert.get("kind")
    if kind == "below_target":
        return f"到价 {title}: now {now} (target {money(_dec(alert['target']))})"
    if kind == "real_drop":
        return f"降价 {title}: now {now}, {alert.get('below_reference_percent')}% below the 30-day low {money(_dec(alert['reference']))}"
    if kind == "restocked":
        return f"到货 {title}: back in stock, {now}"
    if kind == "new_lowest":
        return f"新低 {title}: cheapest now {now} (was {alert.get('previous_marketplace')})"
    change = f" ({alert['change_percent']:+}%)" if alert.get("change_percent") is not None else ""
    return f"{kind} {title}: {now}{change}"


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def text_body(alerts: Sequence[dict[str, Any]], limit: int = MAX_LINES) -> str:
    lines = [f"- {describe(a)}" for a in alerts[:limit]]
    if len(alerts) > limit:
        lines.append(f"- … and {len(alerts) - limit} more (bijia alerts)")
    return "\n".join(lines)


def title_of(alerts: Sequence[dict[str, Any]]) -> str:
    return f"bijia 比价提醒: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"


def send(channel: Channel, alerts: Sequence[dict[str, Any]], run_id: str) -> None:
    """Deliver ``alerts`` through ``channel``; ``DeliveryError`` when it did not accept them."""
    secrets: list[str | None] = []
    try:
        if isinstance(channel, EmailChannel):
            secrets.append(channel.password())
            _send_email(channel, alerts, secrets[-1])
            return
        url = channel.resolved_url()
        secret = channel.secret()
        secrets += [url, secret]
        _SENDERS[type(channel)](channel, url, secret, alerts, run_id)
    except DeliveryError:
        raise
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DeliveryError(redact_text(f"{type(exc).__name__}: {reason}", secrets)) from None


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _post_json(
    url: str,
    payload: dict[str, Any],
    timeout: float,
    ok_key: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    status, reply = _post(url, body, headers or {}, timeout)
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    if ok_key is not None:
        try:
            code = json.loads(reply or b"{}").get(ok_key, 0)
        except (ValueError, AttributeError):
            code = "not JSON"
        if code not in (0, "0"):
            raise DeliveryError(f"the robot answered {ok_key} {code}")


def _webhook(
    channel: WebhookChannel, url: str, secret: str | None, alerts: Sequence[dict[str, Any]], run_id: str
) -> None:
    body = json.dumps(
        {"run_id": run_id, "count": len(alerts), "alerts": list(alerts)}, ensure_ascii=False, default=str
    ).encode("utf-8")
    headers = {}
    if secret:
        stamp = str(int(time.time()))
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {"X-Bijia-Timestamp": stamp, "X-Bijia-Signature": f"sha256={digest}"}
    status, _ = _post(url, body, headers, channel.timeout)
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def _wecom(
    channel: WeComChannel, url: str, secret: str | None, alerts: Sequence[dict[str, Any]], run_id: str
) -> None:
    content = f"**{title_of(alerts)}**\n{text_body(alerts)}"
    while len(content.encode("utf-8")) > WECOM_LIMIT:
        content = content[: int(len(content) * 0.9)]
    _post_json(url, {"msgtype": "markdown", "markdown": {"content": content}}, channel.timeout, "errcode")


def _dingtalk(
    channel: DingTalkChannel, url: str, secret: str | None, alerts: Sequence[dict[str, Any]], run_id: str
) -> None:
    if secret:
        stamp = str(int(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={sign}"
    payload = {
        "msgtype": "markdown",
        "markdown": {"title": title_of(alerts), "text": f"### {title_of(alerts)}\n{text_body(alerts)}"},
    }
    _post_json(url, payload, channel.timeout, "errcode")


def _feishu(
    channel: FeishuChannel, url: str, secret: str | None, alerts: Sequence[dict[str, Any]], run_id: str
) -> None:
    payload: dict[str, Any] = {
        "msg_type": "text",
        "content": {"text": f"{title_of(alerts)}\n{text_body(alerts)}"},
    }
    if secret:
        stamp = str(int(time.time()))
        digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        payload = {"timestamp": stamp, "sign": base64.b64encode(digest).decode(), **payload}
    _post_json(url, payload, channel.timeout, "code")


_SENDERS: dict[type, Any] = {
    WebhookChannel: _webhook,
    WeComChannel: _wecom,
    DingTalkChannel: _dingtalk,
    FeishuChannel: _feishu,
}


def _send_email(channel: EmailChannel, alerts: Sequence[dict[str, Any]], password: str | None) -> None:
    message = EmailMessage()
    message["Subject"] = title_of(alerts)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message.set_content(text_body(alerts, limit=500) + "\n\n-- bijia (bijia alerts lists them all)\n")
    if channel.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            channel.host, channel.port, timeout=channel.timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout)
    with smtp:
        if channel.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if channel.username and password:
            smtp.login(channel.username, password)
        smtp.send_message(message)
