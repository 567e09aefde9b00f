"""The pseudo-language: every letter accented and every message 40 % longer, between ⟦ and ⟧.

Pages rendered in it show at a glance (and to a test) a string that skipped the catalogue (plain
ASCII letters), and where a longer language would be cut off or overlap. Placeholders,
Markdown, Material icons, HTML tags, addresses and code in backticks are left as they are.
"""

from __future__ import annotations

import math
import re

_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçďéƒĝĥîĵķļɱñöþǫŕšţüṽŵẋýžÀƁÇĎÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÜṼŴẊÝŽ",
)
# kept as written: {placeholders}, :material/icons:, `code`, <tags>, &entities;, addresses,
# and SETTING_NAMES
_KEEP = re.compile(
    r"\{[^{}]*\}|:material/[a-z0-9_]+:|`[^`]*`|<[^<>]*>|&#?\w+;|https?://\S+|\b[A-Z0-9]+_[A-Z0-9_]+\b"
)
_FILLER = "ļöŕéɱ îþšüɱ ďöļöŕ šîţ àɱéţ çöñšéçţéţüŕ àďîþîšçîñĝ éļîţ šéď ďö éîüšɱöď ţéɱþöŕ "
OPEN, CLOSE = "⟦", "⟧"


def pseudo(text: str) -> str:
    if not text:
        return text
    out, last = [], 0
    for kept in _KEEP.finditer(text):
        out.append(text[last : kept.start()].translate(_ACCENTED))
        out.append(kept.group())
        last = kept.end()
    out.append(text[last:].translate(_ACCENTED))
    extra = math.ceil(len(text) * 0.4)
    padding = (_FILLER * (extra // len(_FILLER) + 1))[:extra].strip()
    body = "".join(out)
    # the padding goes before a trailing newline or Markdown line break, never inside a token
    return f"{OPEN}{body} {padding}{CLOSE}" if padding else f"{OPEN}{body}{CLOSE}"
