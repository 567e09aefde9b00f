"""Issue 18 on the test recordings: what Whisper base hears, which English lines pass the checks
(s2i_core/speech/english_lines.py), whether a misheard language is named, and how many pictures a
noisy run-on gives with and without the cut at paused clauses.

    python -m bench.languages    (writes bench/results/languages.md; about 10 minutes on 2 cores)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from s2i_core.audio import decode_audio
from s2i_core.errors import NoSpeechError
from s2i_core.settings import Settings
from s2i_core.speech import load_engine, transcribe
from s2i_core.story.clauses import RunOnLimits
from s2i_core.story.sentences import SentenceStream, add_english, split_sentences

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CLIPS = ["es_story", "de_story", "fr_story", "hi_story", "fr_misheard", "run_on_hiss"]
NEVER = RunOnLimits(max_words=10**6, max_seconds=1e9)  # no cut at clauses: before issue 18


def main() -> None:
    settings = Settings.load()
    engine = load_engine(settings)
    load = os.getloadavg()
    rows = ["| clip | heard as | sentences (no clause cut) | English lines kept / left out |",
            "| --- | --- | --- | --- |"]  # fmt: skip
    notes = []
    for name in CLIPS:
        audio = decode_audio(FIXTURES / f"{name}.wav", settings)
        try:
            heard = transcribe(audio, settings, engine=engine)
        except NoSpeechError as error:
            rows.append(f"| {name} | {error} | – | – |")
            continue
        info = heard.info
        sentences = split_sentences(heard.segments, info.language, duration=audio.duration)
        stream = SentenceStream(info.language, duration=audio.duration, run_on=NEVER)
        uncut = [s for seg in heard.segments for s in stream.feed(seg)] + stream.finish()
        lines = add_english(sentences, audio, engine, info.language)
        left = [s for s in lines if s.english_problem]
        kept = len(lines) - len(left)
        rows.append(
            f"| {name} | {info.language} ({info.language_probability:.2f}) | "
            f"{len(sentences)} ({len(uncut)}) | {kept} / {len(left)} |"
        )
        notes += [f"- {name} {s.index + 1}: {s.english_problem}" for s in left]
    text = "\n".join(
        [f"# Every language: the test recordings ({time.strftime('%Y-%m-%d')})", "",
         f"`python -m bench.languages`, load average before: {load[0]:.1f} (2 cores)", "",
         *rows, "", "English lines left out:", "", *(notes or ["- none"]), ""]
    )  # fmt: skip
    out = ROOT / "bench" / "results" / "languages.md"
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
