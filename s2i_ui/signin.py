"""Sign-in with the school account: OpenID Connect through Streamlit's ``st.login`` (Authlib).

Configured the Streamlit way, in ``.streamlit/secrets.toml``::

    [auth]
    redirect_uri = "https://storyboards.school.example/oauth2callback"
    cookie_secret = "a long random text"

    [auth.google]
    client_id = "…"
    client_secret = "…"
    server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

One or more named providers (``[auth.google]``, ``[auth.microsoft]``), or ``client_id`` and the
others right under ``[auth]`` for a single one. Who is a teacher is the app's own list
(``S2I_TEACHERS``, ``S2I_ADMINS``: s2i_ui/roles.py); anyone else who signs in gets the student
view. ``problem`` says, in one sentence, what is wrong with the set-up; the server prints it at
start (s2i_ui/server.py) and pages show it instead of a sign-in button.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

import requests
import streamlit as st

from s2i_core.storage.access import patterns

PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
LABELS = {"google": "Google", "microsoft": "Microsoft", "entra": "Microsoft", "azure": "Microsoft"}
METADATA_TIMEOUT_S = 5.0
SETUP = "Sign-in with the school account is not set up right"


def auth_section(secrets: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """``[auth]`` of secrets.toml as a plain dict, or None when sign-in is not set up."""
    try:
        section = (st.secrets if secrets is None else secrets).get("auth")
    except Exception:  # no secrets.toml at all
        return None
    if not isinstance(section, Mapping) or not section:
        return None
    return json.loads(json.dumps(section, default=dict))


def configured(secrets: Mapping[str, Any] | None = None) -> bool:
    return auth_section(secrets) is not None


def providers(section: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The providers of ``[auth]``, by name ("default": the keys right under ``[auth]``)."""
    named = {
        name: value
        for name, value in section.items()
        if isinstance(value, Mapping) and any(key in value for key in PROVIDER_KEYS)
    }
    if not named and any(key in section for key in PROVIDER_KEYS):
        named["default"] = section
    return named


def label(provider: str) -> str:
    if provider == "default":
        return "Sign in with your school account"
    return f"Sign in with {LABELS.get(provider.lower(), provider.replace('-', ' ').title())}"


def problem(section: Mapping[str, Any] | None, reach=None) -> str | None:
    """What is wrong with the sign-in set-up, in one sentence a school's IT person can act on;
    None when it is fine (every provider's metadata address answers)."""
    if section is None:
        return None
    where = ".streamlit/secrets.toml, [auth]"
    for key in ("redirect_uri", "cookie_secret"):
        if not str(section.get(key) or "").strip():
            return f"{SETUP}: {where} has no {key}. {_ADVICE[key]} Then start the app again."
    found = providers(section)
    if not found:
        return (
            f"{SETUP}: {where} names no provider. Add [auth.google] or [auth.microsoft] with "
            "client_id, client_secret and server_metadata_url, then start the app again."
        )
    for name, provider in found.items():
        missing = [key for key in PROVIDER_KEYS if not str(provider.get(key) or "").strip()]
        table = "[auth]" if name == "default" else f"[auth.{name}]"
        if "_" in name:
            return f"{SETUP}: the provider name {table} must not contain '_' (Streamlit's rule)."
        if missing:
            return (
                f"{SETUP}: {table} in .streamlit/secrets.toml has no {', '.join(missing)}. "
                "Copy them from the app's registration with the provider, then start again."
            )
        trouble = (reach or metadata_problem)(str(provider["server_metadata_url"]))
        if trouble:
            return (
                f"{SETUP}: the server_metadata_url of {table} ({provider['server_metadata_url']}) "
                f"{trouble}. Check the address and this server's network, then start again."
            )
    return None


_ADVICE = {
    "redirect_uri": "Set it to this app's address followed by /oauth2callback, exactly as "
    "registered with the provider.",
    "cookie_secret": 'Set it to a long random text (python -c "import secrets; '
    'print(secrets.token_hex(32))").',
}


def metadata_problem(url: str) -> str | None:
    try:
        answer = requests.get(url, timeout=METADATA_TIMEOUT_S)
        answer.raise_for_status()
        metadata = answer.json()
    except requests.RequestException as error:
        return f"cannot be reached ({type(error).__name__})"
    except ValueError:
        return "does not answer with OpenID Connect metadata (JSON)"
    if not isinstance(metadata, dict) or "authorization_endpoint" not in metadata:
        return "does not answer with OpenID Connect metadata (no authorization_endpoint)"
    return None


@st.cache_resource(ttl=300, show_spinner=False)
def setup_problem(section_json: str) -> str | None:
    """``problem`` of this set-up, asked at most every 5 minutes (pages call it on every run)."""
    return problem(json.loads(section_json))


def current_problem() -> str | None:
    section = auth_section()
    return None if section is None else setup_problem(json.dumps(section, sort_keys=True))


# --- who signed in ---------------------------------------------------------------------------
def user_info() -> dict[str, Any]:
    try:
        info = st.user.to_dict()
    except Exception:
        return {}
    return info if info.get("is_logged_in") is True else {}


def email_of(info: Mapping[str, Any]) -> str:
    """The account's e-mail address, lower case; "" if the provider did not vouch for one."""
    if info.get("email_verified") in (False, "false"):
        return ""
    email = str(info.get("email") or "").strip().lower()
    return email if "@" in email else ""


def listed(email: str, listed_patterns: str) -> bool:
    """Whether ``email`` matches S2I_TEACHERS / S2I_ADMINS ("*@school.example, head@x.org")."""
    return bool(email) and any(fnmatchcase(email, p) for p in patterns(listed_patterns))


def login_id(info: Mapping[str, Any]) -> str:
    """One sign-in, as the provider's one-time claims tell it (a new sign-in, a new id): signing
    out ends exactly this sign-in, in every tab that holds it."""
    parts = [str(info.get(key, "")) for key in ("provider", "iss", "sub", "iat", "nonce")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def age_hours(info: Mapping[str, Any]) -> float:
    """Hours since the provider signed the account in (its ``iat``); 0 when not said."""
    try:
        return max(time.time() - float(info.get("iat") or time.time()), 0.0) / 3600
    except (TypeError, ValueError):
        return 0.0
