"""Speech-to-Image storyboards: narration -> timed sentences -> one picture per sentence."""

__version__ = "0.1.0"
