"""LAN mode: HTTPS with a certificate made for this computer's address, a teacher passcode
required, and the address as a QR code on the teacher's Home."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from streamlit.testing.v1 import AppTest

from s2i_core.lan import certificate_addresses, ensure_certificate, lan_address, qr_png
from s2i_core.settings import ENV_NAMES
from tests.postgres import free_port
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
PASSCODE = "river-otter-42"


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES.values()}
    return env | {"S2I_DATA_DIR": str(data_dir)} | extra


def test_the_certificate_is_valid_now_for_the_lan_address_and_kept(tmp_path: Path):
    made = ensure_certificate(tmp_path / "lan", "192.168.50.7")
    cert = x509.load_pem_x509_certificate(made.cert_path.read_bytes())
    key = serialization.load_pem_private_key(made.key_path.read_bytes(), password=None)

    assert made.created
    assert {"192.168.50.7", "127.0.0.1"} <= set(certificate_addresses(made.cert_path))
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now <= dt.timedelta(days=398)  # browsers refuse longer
    assert cert.public_key() == key.public_key()
    assert made.key_path.stat().st_mode & 0o777 == 0o600  # the key is the owner's alone

    again = ensure_certificate(tmp_path / "lan", "192.168.50.7")
    assert not again.created and again.cert_path.read_bytes() == made.cert_path.read_bytes()
    moved = ensure_certificate(tmp_path / "lan", "10.0.0.23")  # the laptop joined another network
    assert moved.created and "10.0.0.23" in certificate_addresses(moved.cert_path)


def test_run_lan_refuses_to_start_without_a_teacher_passcode(tmp_path: Path):
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run-lan", "PORT=1"],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert result.returncode != 0
    assert len(ours) == 1 and ours[0].startswith("error: LAN mode needs a teacher passcode")
    assert not (tmp_path / "lan").exists()  # refused before making anything


def test_lan_mode_serves_https_that_the_certificate_vouches_for(tmp_path: Path):
    """The server answers over TLS, verified against its own certificate for the address it
    announces, the way a tablet checks it once the certificate is accepted."""
    port, address = free_port(), lan_address()
    server = subprocess.Popen(
        [sys.executable, "-m", "s2i_core.lan", "--port", str(port)],
        cwd=ROOT,
        env=clean_env(tmp_path, S2I_TEACHER_PASSCODE=PASSCODE),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        cert = tmp_path / "lan" / "lan-cert.pem"

        def health(port_: int = port) -> bytes:
            # Traffic stays on loopback; the certificate is still checked against the announced
            # LAN address, the way a tablet checks it once the certificate is accepted.
            context = ssl.create_default_context(cafile=cert)
            with (
                socket.create_connection(("127.0.0.1", port_), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname=address) as tls,
            ):
                tls.sendall(b"GET /_stcore/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return b"".join(iter(lambda: tls.recv(65536), b""))

        # a hang guard: a loaded machine starts slowly
        answer = wait_for(health, "the LAN server", timeout=180, every=0.5, ignoring=(OSError,))
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")
        plain = f"http://127.0.0.1:{port}/_stcore/health"
        with pytest.raises(OSError):  # nothing is served unencrypted
            urllib.request.urlopen(plain, timeout=5).read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert f"Students open https://{address}:{port}/" in errors


def test_the_qr_code_reads_back_as_the_address(tmp_path: Path):
    url = "https://192.168.50.7:8501/"
    (tmp_path / "join.png").write_bytes(qr_png(url))
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "join.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert decoded.strip() == url


def test_the_teachers_home_shows_the_address_and_its_qr_code(tmp_path: Path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_TEACHER_PASSCODE", PASSCODE)
    monkeypatch.setenv("S2I_PUBLIC_URL", "https://192.168.50.7:8501/")
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.get("image") and "192.168.50.7" not in _texts(at)  # students see no invite

    at.text_input(key="home_unlock_passcode").input(PASSCODE)
    [submit] = [b for b in at.button if b.form_id == "home_unlock" and "Unlock" in b.label]
    at = submit.click().run()
    assert "Open **https://192.168.50.7:8501/** in the tablet's browser" in _texts(at)
    assert len(at.get("image")) == 1


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.success])
