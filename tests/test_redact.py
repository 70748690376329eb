"""core.redact: secrets in webhook URLs and texts never survive, what identifies the endpoint does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.redact import MASK, redact_text, redact_url


def test_password_in_user_info_is_masked_user_and_host_kept():
    assert redact_url("https://alice:s3cr3t-pass@hooks.example.com:8443/notify") == (
        f"https://alice:{MASK}@hooks.example.com:8443/notify"
    )


def test_token_query_parameters_are_masked_plain_ones_kept():
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc123def456&lang=zh&sign=Zm9vYmFy&timestamp=1"
    red = redact_url(url)
    assert "abc123def456" not in red and "Zm9vYmFy" not in red
    assert red.startswith("https://oapi.dingtalk.com/robot/send?") and "lang=zh" in red


def test_wecom_key_and_feishu_path_hook_are_masked():
    wecom = redact_url(
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    )
    feishu = redact_url("https://open.feishu.cn/open-apis/bot/v2/hook/2bd4c1e2-0f2e-4c7f-9d55-2a1f0d9e8b11")
    assert "693a91f6" not in wecom and "2bd4c1e2" not in feishu
    assert feishu.startswith("https://open.feishu.cn/open-apis/bot/v2/hook/")


def test_slack_style_path_secret_is_masked():
    red = redact_url("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX")
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in red and red.startswith("https://hooks.slack.com/services/")


def test_text_with_urls_and_known_secret_values():
    text = "webhook https://u:pw12345@h.example/x?token=t0k3n failed; smtp password hunter2pass rejected"
    red = redact_text(text, secrets=["hunter2pass", None, ""])
    assert "pw12345" not in red and "t0k3n" not in red and "hunter2pass" not in red
    assert red.startswith("webhook https://u:") and "failed" in red


def test_an_unparseable_url_is_masked_whole():
    assert redact_url("http://[::1:bad/") == MASK


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=40))
def test_a_password_never_survives(password):
    assert password not in redact_url(f"https://user:{password}@example.com/path")
    assert password not in redact_text(f"at https://example.com/?token={password} now")
