"""Keys the app makes itself and keeps in its data folder (links to media, passcode sessions)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def kept_secret(path: Path) -> bytes:
    """32 random bytes made on first use and kept (owner-only) at ``path``, so every process and
    replica sharing the data folder makes and accepts the same signatures."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        try:  # atomic: of two processes starting together, one file wins and both read it
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())
