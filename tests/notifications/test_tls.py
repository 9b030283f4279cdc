"""STARTTLS with credentials, as a real provider would require: a loopback aiosmtpd with a throwaway certificate
that refuses AUTH before TLS."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config.settings import reset_settings
from models.enums import ReminderStatus
from notifications.mail.sink import free_port
from tests.notifications.conftest import FOCAL, rows, stage_id, sweep_at
from tests.notifications.smtp_server import Recorder, authenticator


def certificate(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)  # a certificate's validity is real time, not the tracker's clock
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


async def test_starttls_and_login(march: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=certificate(tmp_path),
                            require_starttls=True, authenticator=authenticator("tracker", "s3cret"),
                            auth_required=True)
    controller.start()
    try:
        for name, value in {"MAIL_SINK": "false", "SMTP_PORT": str(port), "SMTP_STARTTLS": "true",
                            "SMTP_VALIDATE_CERTS": "false", "SMTP_USERNAME": "tracker",
                            "SMTP_PASSWORD": "s3cret"}.items():
            monkeypatch.setenv(f"CONSULTRACK_{name}", value)
        reset_settings()
        report = await sweep_at("2025-03-03 10:00")
    finally:
        controller.stop()
        reset_settings()
    assert report.sent == 6, report
    assert sorted(r for d in recorder.deliveries for r in d.rcpt_tos) == FOCAL
    assert {r.status for r in rows(rule="stage_started", stage_id=stage_id("outline-feedback"))} == {
        ReminderStatus.SENT}
