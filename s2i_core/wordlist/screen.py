"""Review help: the ordinary words a language's list would stop, for a person to look through.

    python -m s2i_core.wordlist.screen es      # each Spanish entry, and the words it stops

Reads the whole words of Whisper's multilingual vocabulary (about 27 000, most of them English
and other Latin-script languages; the openai-whisper package ships it) and prints, for each
entry that stops a word other than itself, the words it stops: "terrorismo: terror" shows that
the entry must be exact (``=terrorismo``). See data/README.md, "Review".
"""

from __future__ import annotations

import base64
import sys
from importlib import resources

from . import WordList


def vocabulary() -> list[str]:
    """The whole words (a leading space, letters only) of Whisper's multilingual tokenizer."""
    words = set()
    table = resources.files("whisper") / "assets" / "multilingual.tiktoken"
    for line in table.read_bytes().splitlines():
        try:
            token = base64.b64decode(line.split()[0]).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if token.startswith(" ") and token[1:].isalpha():
            words.add(token[1:].casefold())
    return sorted(words)


def stopped_words(language: str) -> dict[str, list[str]]:
    """Each entry of the lists reading ``language``'s sentences, with the words it stops."""
    word_list, found = WordList((), language), {}
    for word in vocabulary():
        for hit in word_list.find(word, "sentence"):
            found.setdefault(hit.entry.text, []).append(word)
    return {entry: words for entry, words in sorted(found.items()) if words != [entry]}


def main(argv: list[str]) -> int:
    for language in argv or ["en"]:
        print(f"== {language}")
        for entry, words in stopped_words(language).items():
            print(f"{entry}: {', '.join(words[:30])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
