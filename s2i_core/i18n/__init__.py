"""The app's own words in the reader's language: message catalogues (gettext, kept with Babel),
and dates, numbers and durations written the way the reader's language writes them.

The seam between the engine and the pages:

- The engine never knows who reads. A message it gives a person (an error, a job's progress
  line, a frame's failure) is built with ``msg("Drawing picture {number} of {total}", number=3,
  total=8)``: a ``Message``, which *is* the English text (so logs, the command line and its
  ``--json`` output, and what the database stores, read as before) and also carries its msgid
  and named parameters.
- A page renders it in the reader's language with ``translate(message, locale)``. A message read
  back from the database is a plain string again: ``translate`` recognises it by the engine's
  msgids (each a template: its literal words around named placeholders), so the text stored by
  a worker, even one stored before catalogues existed, still reaches the reader in their
  language. Text that matches no message is shown as it is.
- Exports (PDF, video) have no reader: they speak the story's own language when it is shipped,
  else English (``export_locale``).

``LANGUAGES`` lists what is shipped; ``PSEUDO`` is a test language: every message accented and
40 % longer, so a test can see a string that bypassed the catalogue and a layout that cuts off.
Catalogues live in s2i_core/locales (README: "Adding a language").
"""

from __future__ import annotations

from .catalogue import (
    DEFAULT,
    LANGUAGES,
    PSEUDO,
    RTL,
    Translator,
    direction,
    export_locale,
    negotiate,
    normalise,
    translator,
)
from .formats import format_count, format_date, format_duration, format_number, language_name
from .message import N_, Message, msg, msg_n, translate

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "PSEUDO",
    "RTL",
    "Message",
    "Translator",
    "direction",
    "export_locale",
    "format_count",
    "format_date",
    "format_duration",
    "format_number",
    "language_name",
    "msg",
    "msg_n",
    "negotiate",
    "normalise",
    "translate",
    "translator",
]
