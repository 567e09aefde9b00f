#!/bin/sh
# Rebuild the sample narration shipped for newcomers: a short English story read by espeak-ng,
# saved as 16 kHz mono 16-bit PCM WAV (needs espeak-ng and sox: apt-get install espeak-ng sox).
set -eu
cd "$(dirname "$0")"
TEXT="Once upon a time, a little red fox lived at the edge of a quiet forest. \
One morning, the fox found a shiny blue balloon caught in a tree. \
The balloon lifted her high above the river. \
At sunset, she floated gently down and ran home to tell her friends."
tmp=$(mktemp --suffix=.wav)
trap 'rm -f "$tmp"' EXIT
espeak-ng -v en-gb -s 150 -w "$tmp" "$TEXT"
sox "$tmp" -r 16000 -c 1 -b 16 fox_and_balloon.wav
echo "wrote $(pwd)/fox_and_balloon.wav"
