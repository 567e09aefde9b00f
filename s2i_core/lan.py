"""Students on their own devices: the app served over HTTPS on the school's local network.

Browsers only let a page use the microphone in a secure context, so LAN mode serves HTTPS with a
self-signed certificate made on first run (and again when the computer's address changes) and
kept in ``<data_dir>/lan/``. Each tablet accepts it once (README: "Students on their own
devices"). LAN mode needs a teacher passcode (or sign-in, [auth] in secrets.toml): without one,
everyone on the network could create and delete stories.

``make run-lan`` runs ``python -m s2i_core.lan``, which checks all that, prints the address and
then becomes the Streamlit server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import ipaddress
import os
import socket
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import segno
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import S2IError, SettingsError
from .settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CERT_DAYS = 397  # the longest any browser accepts for a server certificate
RENEW_DAYS = 30  # a certificate closer than this to its end is made again
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"


class LanError(S2IError):
    user_error = True


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    created: bool  # False: an earlier one still fits and was kept


def lan_address() -> str:
    """This computer's address on the local network: the one its default route leaves from.
    (Connecting a UDP socket sends nothing; it only picks the route.) 127.0.0.1 with no network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def ensure_certificate(folder: Path, address: str) -> Certificate:
    """A certificate for ``address`` (and localhost) in ``folder``, made if there is none that
    covers this address for at least RENEW_DAYS more days."""
    cert_path, key_path = folder / "lan-cert.pem", folder / "lan-key.pem"
    if key_path.exists() and _still_fits(cert_path, address):
        return Certificate(cert_path, key_path, created=False)
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Speech-to-Image classroom ({address})"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Speech-to-Image storyboards"),
        ]
    )
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(address)),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ]
    if hostname and hostname != "localhost":
        names += [x509.DNSName(hostname), x509.DNSName(f"{hostname}.local")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tablets whose clocks run a little late
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Certificate(cert_path, key_path, created=True)


def certificate_addresses(cert_path: Path) -> list[str]:
    """The IP addresses a certificate is valid for."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]


def qr_png(text: str, scale: int = 8) -> bytes:
    """A QR code of ``text`` as a PNG, with the quiet zone scanners need around it."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def streamlit_command(port: int, address: str, cert: Certificate) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "s2i_ui" / "server.py"),
        "--server.address", "0.0.0.0",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.sslCertFile", str(cert.cert_path),
        "--server.sslKeyFile", str(cert.key_path),
        "--browser.serverAddress", address,
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make run-lan", description="Serve the app over HTTPS on the local network."
    )
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", help="the address tablets use (default: detected)")
    args = parser.parse_args(argv)
    try:
        secrets = _secrets_file()
        settings = Settings.load(secrets=secrets)
        if not settings.teacher_passcode and not (secrets or {}).get("auth"):
            raise LanError(
                "LAN mode needs a teacher passcode (or sign-in with the school account), or every "
                "student on the network could create and delete stories. Set "
                "S2I_TEACHER_PASSCODE in the environment or in .streamlit/secrets.toml, then run "
                "make run-lan again."
            )
        address = args.address or lan_address()
        cert = ensure_certificate(settings.data_dir / "lan", address)
    except (S2IError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = f"https://{address}:{args.port}/"
    if address == "127.0.0.1":
        print("note: no network found; only this computer can open the app.", file=sys.stderr)
    print(
        f"Students open {url} on their tablets (or scan the QR code on the teacher's Home page).\n"
        + ("A new certificate was made: each device accepts it once.\n" if cert.created else ""),
        file=sys.stderr,
        flush=True,
    )
    if sys.stderr.isatty():  # the code to scan, before anyone opens the Home page
        segno.make(url, error="m", micro=False).terminal(out=sys.stderr, compact=True)
    env = os.environ | {"S2I_PUBLIC_URL": url}
    command = streamlit_command(args.port, address, cert)
    os.chdir(ROOT)  # .streamlit/ (config and secrets) is read from the working folder
    os.execve(command[0], command, env)
    return 0  # not reached: the process is now the Streamlit server


def _still_fits(cert_path: Path, address: str) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    ends = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    return ends > dt.timedelta(days=RENEW_DAYS) and address in certificate_addresses(cert_path)


def _write_private(path: Path, data: bytes) -> None:
    """Write a key readable by its owner only, from the first byte on."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _secrets_file() -> dict | None:
    try:
        return tomllib.loads(SECRETS_FILE.read_text()) if SECRETS_FILE.is_file() else None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{SECRETS_FILE} cannot be read ({error}).") from error


if __name__ == "__main__":
    sys.exit(main())
