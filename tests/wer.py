"""Word error rate between two transcripts, after Whisper's own text normalisation."""

from __future__ import annotations

from whisper.normalizers import BasicTextNormalizer


def word_error_rate(reference: str, hypothesis: str) -> float:
    normalize = BasicTextNormalizer()
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    distances = list(range(len(hyp) + 1))  # Levenshtein distance over words, one row at a time
    for i, ref_word in enumerate(ref, start=1):
        diagonal, distances[0] = distances[0], i
        for j, hyp_word in enumerate(hyp, start=1):
            substitution = diagonal + (ref_word != hyp_word)
            diagonal = distances[j]
            distances[j] = min(distances[j] + 1, distances[j - 1] + 1, substitution)
    return distances[-1] / max(len(ref), 1)
