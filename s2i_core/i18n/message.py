"""Messages the engine gives people, rendered in the reader's language at the page.

``msg`` builds a ``Message``: a ``str`` holding the English text (what logs, the command line and
the database see) that also keeps its msgid and named parameters, so ``translate`` can say it
in any shipped language. Text read back from storage is recognised by the engine's msgids.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from .catalogue import DEFAULT, LOCALES_DIR, translator

ENGINE_SOURCES = ("s2i_core/",)  # whose msgids recognise stored text (not the pages' own words)


def N_(msgid: str) -> str:
    """Marks a msgid for the catalogue where it is declared (a table of labels); it is
    translated where it is shown."""
    return msgid


class Message(str):
    """The English text of a message, carrying what it takes to say it in another language."""

    msgid: str
    plural: str | None
    n: int
    params: Mapping[str, object]

    def __new__(
        cls, msgid: str, params: Mapping[str, object], plural: str | None = None, n: int = 1
    ):
        english = msgid if plural is None or n == 1 else plural
        try:
            text = english.format(**params) if params else english
        except (KeyError, IndexError, ValueError):
            text = english
        message = super().__new__(cls, text)
        message.msgid, message.plural, message.n, message.params = msgid, plural, n, params
        return message

    def __reduce__(self):  # pickled (job queues) as what it says, plus how to say it again
        return (Message, (self.msgid, dict(self.params), self.plural, self.n))


def msg(msgid: str, /, **params: object) -> Message:
    return Message(msgid, params)


def msg_n(singular: str, plural: str, n: int, /, **params: object) -> Message:
    params.setdefault("n", n)
    return Message(singular, params, plural, n)


def translate(text: object, locale: str) -> str:
    """``text`` in ``locale``: a Message directly, a stored English message by its msgid, an
    exception by its message; anything else as it is."""
    if isinstance(text, BaseException):
        text = text.args[0] if len(text.args) == 1 and isinstance(text.args[0], str) else str(text)
    if not isinstance(text, str):
        return str(text)
    if not isinstance(text, Message):
        if locale == DEFAULT or not text:
            return text
        found = recognise(text)
        if found is None:
            return text
        text = found
    params = {
        name: translate(value, locale) if isinstance(value, str | BaseException) else value
        for name, value in text.params.items()
    }
    speaker = translator(locale)
    if text.plural is None:
        return speaker.gettext(text.msgid, **params)
    return speaker.ngettext(text.msgid, text.plural, text.n, **params)


# --- recognising stored English --------------------------------------------------------------
_FIELD = re.compile(r"\{(\w+)\}")


class _Template:
    def __init__(self, msgid: str, plural: str | None, form: str):
        self.msgid, self.plural = msgid, plural
        self.literal = len(_FIELD.sub("", form))
        pattern, seen, last = [], set(), 0
        for field in _FIELD.finditer(form):
            pattern.append(re.escape(form[last : field.start()]))
            name = field.group(1)
            pattern.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
            last = field.end()
        pattern.append(re.escape(form[last:]))
        self.regex = re.compile("".join(pattern), re.DOTALL)

    def match(self, text: str) -> Message | None:
        found = self.regex.fullmatch(text)
        if found is None:
            return None
        params: dict[str, object] = dict(found.groupdict())
        if self.plural is None:
            return Message(self.msgid, params)
        count = str(params.get("n", "")).replace(",", "")
        n = int(count) if count.isdigit() else 2
        return Message(self.msgid, params, self.plural, n)


@functools.cache
def _templates() -> tuple[_Template, ...]:
    from babel.messages.pofile import read_po

    pot = LOCALES_DIR / "messages.pot"
    if not pot.is_file():
        return ()
    with pot.open("rb") as file:
        catalog = read_po(file)
    found = []
    for message in catalog:
        if not message.id or not any(
            path.startswith(ENGINE_SOURCES) for path, _ in message.locations
        ):
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id[0], message.id[1]
            forms = (singular, plural)
        else:
            singular, plural, forms = message.id, None, (message.id,)
        for form in forms:
            template = _Template(singular, plural, form)
            if template.literal >= 2:  # a shorter one ("{a}{b}") would fit any text
                found.append(template)
    return tuple(sorted(found, key=lambda t: -t.literal))


@functools.lru_cache(maxsize=4096)
def recognise(text: str) -> Message | None:
    """The engine's message this English text was made from, with its parameters; None when
    it is not one (a teacher's words, an outside service's message)."""
    return _explain(text)[1]


SHORT = 4  # a template with fewer literal characters is recognised only around our messages
_PLAIN = re.compile(r"[^A-Za-z]*")  # numbers, sizes, punctuation: nothing to translate


@functools.lru_cache(maxsize=4096)
def _explain(text: str) -> tuple[int, Message | None]:
    """(how many characters of ``text`` our messages account for, the best such message). Of
    several templates that fit ("Drawing: {done}" and "{done} of {total} pictures" both fit
    "Drawing: 3 of 8 pictures"), the one whose parameters are themselves explained wins; of
    equals, the shorter template, which wraps the other (its parameter holds the longer one)."""
    if _PLAIN.fullmatch(text):
        return len(text), None
    best: tuple[int, int, Message | None] = (0, 0, None)  # (covered, -literal, message)
    for template in _templates():
        found = template.match(text)
        if found is None:
            continue
        parts = [_explain(value) for value in found.params.values() if isinstance(value, str)]
        if template.literal < SHORT and not any(inner for _, inner in parts):
            continue  # "{a}; {b}" fits much of what people write: only around our messages
        covered = template.literal + sum(count for count, _ in parts)
        if best[2] is None or (covered, -template.literal) > best[:2]:
            best = (covered, -template.literal, found)
    return best[0], best[2]
