"""Alert channels against local receivers on 127.0.0.1: a webhook with an HMAC signature, 企业微信 / 钉钉 /
飞书 robots (the documented JSON shapes and signatures), email through a local SMTP server (aiosmtpd) with a
password; failures stay pending and are retried; secrets appear in no log, report, runs config or file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from crawler.config import AlertsOptions
from service.alert_channels import WECOM_LIMIT, DeliveryError, send
from storage.watchlist import add_watch
from tests.test_watch import Shop

ALERT = {
    "alert_id": "r1:below_target:watch1",
    "kind": "below_target",
    "run_id": "r1",
    "product_id": "P1",
    "marketplace": "jingxuan",
    "listing_id": "JX1",
    "title": "苹果 iPhone 15 Pro 256G",
    "price": "5899.00",
    "target": "5999.00",
    "watch_id": 1,
}
LINE = "到价 苹果 iPhone 15 Pro 256G: now ¥5,899.00 at jingxuan (target ¥5,999.00)"
SECRET = "SEC0123456789abcdefSECRET"
TOKEN = "tok9f8e7d6c5b4a3f2e1d0c9b8a7"


class Receiver:
    """Records each POST (path, query, headers, JSON body); answers ``reply`` with ``status``."""

    def __init__(self, reply: dict | None = None, status: int = 200) -> None:
        self.posts: list[dict] = []
        self.reply, self.status = reply or {}, status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                url = urlsplit(self.path)
                outer.posts.append(
                    {
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": dict(self.headers),
                        "raw": body,
                        "json": json.loads(body),
                    }
                )
                answer = json.dumps(outer.reply).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(reply=None, status=200) -> Receiver:
        made.append(Receiver(reply, status))
        return made[-1]

    yield make
    for r in made:
        r.close()


def channel(options: dict) -> object:
    return AlertsOptions.model_validate({"channel": [options]}).channel[0]


def test_webhook_is_signed_with_hmac_sha256(receiver, monkeypatch):
    hook = receiver()
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    send(
        channel({"type": "webhook", "url": hook.base + "/bijia", "secret_env": "HOOK_SECRET"}), [ALERT], "r1"
    )
    (post,) = hook.posts
    assert post["json"] == {"run_id": "r1", "count": 1, "alerts": [ALERT]}
    stamp = post["headers"]["X-Bijia-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + post["raw"], hashlib.sha256).hexdigest()
    assert post["headers"]["X-Bijia-Signature"] == f"sha256={expected}"


def test_wecom_robot_gets_its_markdown_shape(receiver, monkeypatch):
    robot = receiver({"errcode": 0, "errmsg": "ok"})
    monkeypatch.setenv("WECOM_URL", f"{robot.base}/cgi-bin/webhook/send?key={TOKEN}")
    send(channel({"type": "wecom", "url_env": "WECOM_URL"}), [ALERT] * 500, "r1")
    (post,) = robot.posts
    assert post["query"] == {"key": [TOKEN]} and set(post["json"]) == {"msgtype", "markdown"}
    assert post["json"]["msgtype"] == "markdown" and set(post["json"]["markdown"]) == {"content"}
    content = post["json"]["markdown"]["content"]
    assert f"- {LINE}" in content and len(content.encode()) <= WECOM_LIMIT
    assert "… and 470 more" in content


def test_dingtalk_robot_is_signed_the_documented_way(receiver, monkeypatch):
    robot = receiver({"errcode": 0, "errmsg": "ok"})
    monkeypatch.setenv("DING_URL", f"{robot.base}/robot/send?access_token={TOKEN}")
    monkeypatch.setenv("DING_SECRET", SECRET)
    send(channel({"type": "dingtalk", "url_env": "DING_URL", "secret_env": "DING_SECRET"}), [ALERT], "r1")
    (post,) = robot.posts
    stamp = post["query"]["timestamp"][0]
    digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert post["query"]["sign"] == [base64.b64encode(digest).decode()]  # parse_qs undoes the URL encoding
    assert post["query"]["access_token"] == [TOKEN]
    body = post["json"]
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert LINE in body["markdown"]["text"] and body["markdown"]["title"].startswith("bijia")


def test_feishu_robot_is_signed_the_documented_way(receiver, monkeypatch):
    robot = receiver({"code": 0, "msg": "success"})
    monkeypatch.setenv("FEISHU_URL", f"{robot.base}/open-apis/bot/v2/hook/{TOKEN}")
    monkeypatch.setenv("FEISHU_SECRET", SECRET)
    send(channel({"type": "feishu", "url_env": "FEISHU_URL", "secret_env": "FEISHU_SECRET"}), [ALERT], "r1")
    (post,) = robot.posts
    body = post["json"]
    assert set(body) == {"timestamp", "sign", "msg_type", "content"} and body["msg_type"] == "text"
    digest = hmac.new(f"{body['timestamp']}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    assert body["sign"] == base64.b64encode(digest).decode()
    assert LINE in body["content"]["text"]


@pytest.mark.parametrize(
    ("kind", "reply", "status", "error"),
    [
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}, 200, "errcode 93000"),
        ("dingtalk", {"errcode": 310000, "errmsg": "sign not match"}, 200, "errcode 310000"),
        ("feishu", {"code": 19021, "msg": "sign match fail"}, 200, "code 19021"),
        ("webhook", {}, 503, "HTTP 503"),
    ],
)
def test_a_refusal_is_a_delivery_error_without_the_token(receiver, kind, reply, status, error):
    robot = receiver(reply, status)
    with pytest.raises(DeliveryError) as caught:
        send(channel({"type": kind, "url": f"{robot.base}/send?access_token={TOKEN}"}), [ALERT], "r1")
    assert error in str(caught.value) and TOKEN not in str(caught.value)


def test_unreachable_robot_error_names_no_secret(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DING_URL", f"http://127.0.0.1:{port}/robot/send?access_token={TOKEN}")
    with pytest.raises(DeliveryError) as caught:
        send(channel({"type": "dingtalk", "url_env": "DING_URL", "timeout": 2}), [ALERT], "r1")
    assert TOKEN not in str(caught.value) and "Connection refused" in str(caught.value)


def test_missing_environment_variable_is_named(monkeypatch):
    monkeypatch.delenv("NOPE_URL", raising=False)
    with pytest.raises(DeliveryError, match="NOPE_URL is not set"):
        send(channel({"type": "wecom", "url_env": "NOPE_URL"}), [ALERT], "r1")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=auth_data.password == SECRET.encode())
        return AuthResult(success=False)


@pytest.fixture
def smtp():
    box = Mailbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate, auth_require_tls=False
    )
    server.start()
    yield box, port
    server.stop()


def email_channel(port: int) -> dict:
    return {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "bijia",
        "password_env": "SMTP_PASSWORD",
        "sender": "bijia@example.com",
        "to": ["buyer@example.com"],
    }


def test_email_goes_through_smtp_with_the_password_from_the_environment(smtp, monkeypatch):
    box, port = smtp
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    send(channel(email_channel(port)), [ALERT, {**ALERT, "alert_id": "x", "kind": "restocked"}], "r1")
    ((sender, to, content),) = box.messages
    assert (sender, to, box.logins) == (
        "bijia@example.com",
        ["buyer@example.com"],
        [(b"bijia", SECRET.encode())],
    )
    text = content.decode()
    assert "Subject: =?utf-8?" in text or "Subject: bijia" in text
    from email import message_from_bytes
    from email.policy import default

    message = message_from_bytes(content, policy=default)
    assert message["Subject"] == "bijia 比价提醒: 2 alerts" and LINE in message.get_content()


def test_a_wrong_smtp_password_is_a_delivery_error_without_the_password(smtp, monkeypatch):
    _, port = smtp
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password-1234")
    with pytest.raises(DeliveryError) as caught:
        send(channel({**email_channel(port), "timeout": 3}), [ALERT], "r1")
    assert "wrong-password-1234" not in str(caught.value) and str(caught.value).startswith("SMTP")


def test_run_delivers_to_every_channel_retries_failures_and_leaks_no_secret(
    db_path, tmp_path, receiver, smtp, monkeypatch, caplog
):
    box, port = smtp
    robot = receiver({"errcode": 310000, "errmsg": "sign not match"})
    hook = receiver()
    monkeypatch.setenv("DING_URL", f"{robot.base}/robot/send?access_token={TOKEN}")
    monkeypatch.setenv("DING_SECRET", SECRET)
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    options = AlertsOptions.model_validate(
        {
            "channel": [
                {"type": "dingtalk", "url_env": "DING_URL", "secret_env": "DING_SECRET"},
                email_channel(port),
                {
                    "type": "webhook",
                    "name": "ops",
                    "url": f"{hook.base}/hook?token={TOKEN}",
                    "secret_env": "HOOK_SECRET",
                },
            ]
        }
    )
    shop = Shop(db_path, tmp_path)
    add_watch(shop.con, "P1", below=Decimal("6000"))
    _, report = shop.run("5900", "6200", options=options)
    assert report.channels == {
        "dingtalk": "failed: the robot answered errcode 310000",
        "email": "sent 1",
        "ops": "sent 1",
    }
    assert len(box.messages) == 1 and len(hook.posts) == 1
    robot.reply = {"errcode": 0}
    _, again = shop.run("5900", "6200", options=options)  # nothing new; the robot gets the pending alert
    assert again.new == 0 and again.channels == {
        "dingtalk": "sent 1",
        "email": "nothing to send",
        "ops": "nothing to send",
    }
    assert len(robot.posts) == 2 and len(box.messages) == 1
    dumped = json.dumps(options.model_dump()) + json.dumps(report.to_dict()) + caplog.text
    dumped += shop.jsonl.read_text() + shop.feed.read_text()
    for secret in (SECRET, TOKEN):
        assert secret not in dumped
    assert "token=***" in json.dumps(options.model_dump())
    shop.con.close()
