"""Decoding page bytes: a BOM, the HTTP header, the page's own declaration, else detection.

Used both by the downloader middleware (Scrapy responses) and by extraction from saved pages.
"""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, read_bom


def to_text(body: str | bytes, content_type: str | None = None) -> str:
    """Decode an HTML body: BOM, Content-Type header, ``<meta charset>``/``http-equiv``, else detected."""
    if isinstance(body, str):
        return body
    encoding = choose_encoding(body, content_type)
    _encoding, text = html_to_unicode(f"charset={encoding}", body)
    return text


# --- encodings --------------------------------------------------------------------------------------
# Chinese pages are UTF-8, GBK/GB18030 or Big5, often with nothing declared. Big5 bytes are mostly
# valid GBK and GB2312 bytes mostly valid Big5, so a strict decode cannot tell them apart; what does is
# whether the decoded characters are the *common* ones of that script: GB2312 symbols and level-1
# hanzi (the 3,755 most used simplified characters) for GBK, Big5 symbols and level-1 (the 5,401 most
# used traditional characters) for Big5. A wrong decoding yields mostly rare characters.

_CJK_CANDIDATES = (
    ("gb18030", "gb2312", (0xA1, 0xA3), (0xB0, 0xD7)),
    ("big5hkscs", "big5", (0xA1, 0xA3), (0xA4, 0xC5)),
)
_COMMON_SHARE = 0.8
# Japanese pages are EUC-JP or Shift_JIS (cp932 is Microsoft's superset), often with nothing declared.
_JAPANESE = ("euc_jp", "cp932")
_KANA_SHARE = 0.1
_UTF16_NUL = 0.3
_LATIN = frozenset(
    {
        "cp1250",
        "cp1252",
        "cp1254",
        "cp1257",
        "latin_1",
        "iso8859_2",
        "iso8859_15",
        "mac_roman",
        "mac_latin2",
        "iso8859_9",
        "iso8859_13",
        "iso8859_16",
        "iso8859_4",
        "iso8859_10",
    }
)


def choose_encoding(body: bytes, content_type: str | None = None) -> str:
    """The encoding to read ``body`` with: a BOM; else what the HTTP header or the page declares (a
    declared UTF-8 the bytes are not is ignored); else UTF-8 when the bytes are; else detected."""
    bom, _ = read_bom(body)
    if bom:
        return bom
    wide = utf16_without_bom(body)
    if wide:  # before anything else: ASCII read as UTF-16 is valid UTF-8, NULs and all
        return wide
    header = http_content_type_encoding(content_type) if content_type else None
    meta = html_body_declared_encoding(body)
    for declared in (header, meta):
        if declared and (declared not in ("utf-8", "utf8") or _is_utf8(body)):
            return declared
    if _is_utf8(body):
        return "utf-8"
    return detect_encoding(body) or "utf-8"


def declared_encoding(body: bytes, content_type: str | None = None) -> str | None:
    """What the bytes or the header say (BOM, header, meta), or ``None`` when nothing is declared."""
    return (
        read_bom(body)[0]
        or (http_content_type_encoding(content_type) if content_type else None)
        or html_body_declared_encoding(body)
    )


def detect_encoding(body: bytes) -> str | None:
    """Guess the encoding of undeclared bytes: UTF-8; EUC-JP or Shift_JIS by their kana; GB18030 (GBK)
    or Big5 by their common characters; else charset-normalizer's best guess (Korean, Western pages)."""
    if _is_utf8(body):
        return "utf-8"
    for encoding in _JAPANESE:
        share = _kana_share(body, encoding)
        if share is not None and share >= _KANA_SHARE:
            return encoding
    scores = [
        (share, encoding)
        for encoding, table, symbols, level1 in _CJK_CANDIDATES
        if (share := _common_share(body, encoding, table, symbols, level1)) is not None
    ]
    if scores:
        share, encoding = max(scores, key=lambda s: s[0])  # ties: GB18030, the first candidate
        if share >= _COMMON_SHARE:
            return encoding
    best = from_bytes(body).best()
    if best is None:
        return None
    if best.encoding in _LATIN and _decodes(body, "cp1252"):
        return "cp1252"  # short Western texts: the HTML default (WHATWG) rather than a near-tie guess
    return best.encoding


def utf16_without_bom(body: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` for UTF-16 text without a byte order mark, told by where the NUL bytes
    of its ASCII characters (the markup) fall; ``None`` for any other text."""
    sample = body[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul >= _UTF16_NUL and even_nul <= 0.05 and _decodes(body[: len(body) // 2 * 2], "utf-16-le"):
        return "utf-16-le"
    if even_nul >= _UTF16_NUL and odd_nul <= 0.05 and _decodes(body[: len(body) // 2 * 2], "utf-16-be"):
        return "utf-16-be"
    return None


def _kana_share(body: bytes, encoding: str) -> float | None:
    """Share of the non-ASCII characters that are hiragana or katakana when ``body`` is read as
    ``encoding``; ``None`` when the bytes are not valid in it. Japanese text is full of kana, Chinese
    text (in any encoding misread as a Japanese one) has next to none."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return None
    return sum(0x3040 <= ord(c) <= 0x30FF for c in wide) / len(wide)


def _is_utf8(body: bytes) -> bool:
    return _decodes(body, "utf-8")


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _common_share(
    body: bytes, encoding: str, table: str, symbols: tuple[int, int], level1: tuple[int, int]
) -> float | None:
    """Share of the non-ASCII characters that are common ones when ``body`` is read as ``encoding``;
    ``None`` when the bytes are not valid in it."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    chars = [c for c in text if ord(c) > 0x7F]
    if not chars:
        return None
    common = 0
    for char in chars:
        try:
            lead = char.encode(table)[0]
        except UnicodeEncodeError:
            continue
        common += symbols[0] <= lead <= symbols[1] or level1[0] <= lead <= level1[1]
    return common / len(chars)
