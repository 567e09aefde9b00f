"""One exception family. Every message tells a teacher what went wrong and what to do next."""

from __future__ import annotations


class S2IError(Exception):
    """Base of every error the engine raises on purpose.

    ``str(error)`` is a complete sentence a teacher can act on; it never contains secrets.
    ``user_error`` marks bad input (the CLI exits 2) as opposed to a failure (exit 1).
    ``retryable`` says whether the same work may succeed later (the job queue retries it).
    """

    user_error = False
    retryable = False


class SettingsError(S2IError):
    """A setting (environment variable or Streamlit secret) has a value that cannot be used."""

    user_error = True


# --- audio -------------------------------------------------------------------------------------
class AudioError(S2IError):
    user_error = True


class EmptyAudioError(AudioError):
    pass


class NotAudioError(AudioError):
    pass


class CorruptAudioError(AudioError):
    pass


class NoSpeechError(AudioError):
    pass


class MisheardLanguageError(NoSpeechError):
    """Speech was there, but no usable words came out, and the language was only a guess: the
    teacher is asked which language the story is in (the CLI names ``--language``).
    ``language`` is the code Whisper guessed."""

    def __init__(self, message: str, language: str):
        super().__init__(message)
        self.language = language


class AudioTooLongError(AudioError):
    pass


class AudioTooLargeError(AudioError):
    pass


# --- speech recognition ------------------------------------------------------------------------
class SpeechModelError(S2IError):
    """The Whisper model cannot be found or loaded."""


# --- image generation --------------------------------------------------------------------------
class ImageAPIError(S2IError):
    """A picture backend failed for one frame. ``retryable``: the fault usually passes within
    seconds, so the backend tries again by itself (within the picture's time budget)."""


class MissingKeyError(ImageAPIError):
    user_error = True


class InvalidKeyError(ImageAPIError):
    user_error = True


class UnknownModelError(ImageAPIError):
    user_error = True


class InvalidRequestError(ImageAPIError):
    user_error = True


class RateLimitedError(ImageAPIError):
    retryable = True

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailableError(ImageAPIError):
    """5xx, timeouts, connection refused, a queued job that never finished."""

    retryable = True


class ServiceUnreachableError(ImageAPIError):
    """No connection at all: refused, no such host, no route. Not retried: the teacher hears at
    once that the computer seems offline."""


class PictureModelError(ImageAPIError):
    """A local picture model cannot be found, loaded or run (missing files, out of GPU memory)."""


class BadImageError(ImageAPIError):
    """The service answered, but not with a usable picture (an answer cut short is retried)."""


class ContentFilteredError(ImageAPIError):
    """The safety filter (ours or the service's) stopped this frame."""


# --- scene writer ------------------------------------------------------------------------------
class SceneWriterError(S2IError):
    """The LLM gave no usable scenes for a story; the offline path writes them instead.
    ``retryable`` says whether asking the same model once more may help."""

    retryable = False


class NotJSONError(SceneWriterError):
    """The answer was not the JSON object asked for (prose, cut short, the wrong shape)."""

    retryable = True


class SceneWriterUnavailableError(SceneWriterError):
    """The LLM service is down, busy or unreachable (5xx, 429, no connection, no answer in
    time): the scenes job waits ``retry_after`` seconds on the queue and asks again, and the
    pictures that need it wait too."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# --- storage -----------------------------------------------------------------------------------
class StorageError(S2IError):
    pass


class StoryNotFoundError(StorageError):
    user_error = True


class StoryBusyError(StorageError):
    """Another process (a second command, a worker) is finishing the story right now."""

    retryable = True


class FrameNotFoundError(StorageError):
    user_error = True


class StaleVersionError(StorageError):
    """A story or frame changed between being read and being saved: a save names the version it
    read (see storage/versions.py). The caller reads the row again and decides anew, so
    ``retryable``: trying again with what is there now may succeed."""

    retryable = True


# --- exports -----------------------------------------------------------------------------------
class ExportError(S2IError):
    """A story cannot be exported on this computer (a missing system library, an encoder)."""


class NothingToExportError(ExportError):
    """The story has no frames yet."""

    user_error = True


class NarrationMissingError(ExportError):
    """A narrated video needs the story's recording, and it is missing or unreadable."""

    user_error = True


class ExportPathError(ExportError):
    """The export cannot be written where it was asked to go."""

    user_error = True


# --- editing -----------------------------------------------------------------------------------
class EditError(S2IError):
    """A teacher's edit that cannot be saved as typed (an emptied sentence, say)."""

    user_error = True


class EditConflictError(EditError):
    """Another teacher saved the same words first (both changed one sentence, say): this save was
    refused and nothing was overwritten. ``conflicts`` (story.revisions.Conflict) hold what each
    of them wrote, so the teacher can keep theirs, keep the other's, or merge the two."""

    def __init__(self, message: str, conflicts: tuple = ()):
        super().__init__(message)
        self.conflicts = conflicts


# --- jobs and workers --------------------------------------------------------------------------
class JobError(S2IError):
    pass


class JobNotFoundError(JobError):
    user_error = True


class QueueUnavailableError(JobError):
    """The job queue (Redis, or the queue file) cannot be reached."""

    retryable = True


class FramesNotDrawnError(JobError):
    """Some pictures failed for a reason that may pass (rate limit, outage): try them later."""

    retryable = True


# --- teachers ----------------------------------------------------------------------------------
class PictureLimitError(S2IError):
    """The teacher had all the pictures a teacher may have today (S2I_PICTURES_PER_TEACHER_DAY)."""

    user_error = True


class SignInSetupError(SettingsError):
    """Sign-in with the school account ([auth] in secrets.toml) is set up wrong."""


# --- character sheets --------------------------------------------------------------------------
class ReferencePictureError(S2IError):
    """A character's picture (an uploaded drawing) cannot be used: not a picture, too small."""

    user_error = True
