#!/bin/sh
# Rebuild speech.wav, the voice Chromium's fake microphone plays in the browser test: three short
# sentences with a clear pause after each (so Whisper ends a sentence there), 16 kHz mono 16-bit
# PCM (what Chromium's --use-file-for-fake-audio-capture accepts), and silence at the end so a
# recording that runs a little long does not wrap around into the next loop.
# Needs espeak-ng and sox.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for sentence in \
    "The little fox found a blue balloon." \
    "The balloon carried the fox over the river." \
    "At night, the fox came home to sleep."; do
    n=$((n + 1))
    espeak-ng -v en-gb -s 145 -w "$tmp/raw$n.wav" "$sentence"
    sox "$tmp/raw$n.wav" -r 16000 -c 1 -b 16 "$tmp/s$n.wav" pad 0 1.0
done
sox "$tmp/s1.wav" "$tmp/s2.wav" "$tmp/s3.wav" speech.wav pad 0.3 1.5
echo "wrote $(pwd)/speech.wav"
