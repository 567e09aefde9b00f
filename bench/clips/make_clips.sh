#!/usr/bin/env bash
# Benchmark narrations, spoken by espeak-ng and stored as Ogg/Opus (what a browser would record).
set -euo pipefail
cd "$(dirname "$0")"
speak() {  # speak NAME TEXT
  espeak-ng -v en-us -s 150 -w "/tmp/s2i-$1.wav" "$2"
  ../../.venv/bin/python - "/tmp/s2i-$1.wav" "$1.ogg" <<'PY'
import sys, av
with av.open(sys.argv[1]) as src, av.open(sys.argv[2], "w", format="ogg") as dst:
    out = dst.add_stream("libopus", rate=48000, layout="mono")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    for frame in src.decode(audio=0):
        for f in resampler.resample(frame):
            for p in out.encode(f): dst.mux(p)
    for p in out.encode(None): dst.mux(p)
PY
  rm "/tmp/s2i-$1.wav"
}
SIX="A little girl named Mia found a map in her garden. The map showed a path to a tall old tree. She walked past the pond and over a wooden bridge. At the tree she found a small golden box. Inside the box was a letter from her grandmother. Mia smiled and ran home to read it with her family."
speak six_sentences "$SIX"
speak story_20s "Once upon a time, a little fox lived in a green forest. Every morning, she ran to the river to drink water. One day, she found a shiny blue stone. She carried it home and showed it to her mother. Her mother said it was a magic stone."
speak story_60s "$SIX Mr. Brown had a small red boat. On Monday he sailed across the lake to visit his sister. The wind was strong, and the waves were high. He was not afraid, and he sang a happy song. At noon he reached the island, where his sister waited with warm bread and apple pie. They ate together and watched the birds fly over the water. In the evening the sky turned orange and pink. Mr. Brown sailed home slowly under the first stars. His cat was waiting for him at the door. The next morning he told the whole town about his trip, and the children asked him to take them sailing too."
