"""Real receivers for the alerts, on 127.0.0.1: an SMTP server, an HTTP webhook and SNS (moto's server)
with an SQS queue subscribed to the topic. Each collects what arrived, as a person would read it."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from moto.server import ThreadedMotoServer

REGION = "eu-central-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    subject: str
    body: str


def wait_for(collect: Callable[[], list[Received]], count: int, timeout: float = 30.0) -> list[Received]:
    """What arrived once `count` messages did (or the timeout passed): alerts are sent asynchronously."""
    deadline = time.monotonic() + timeout
    got = collect()
    while len(got) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        got = collect()
    return got


@dataclass
class Mailbox:
    url: str
    messages: list[Received] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    # Every login the server received, as (user, password): what crossed the network.
    logins: list[tuple[str, str]] = field(default_factory=list)

    def received(self) -> list[Received]:
        return list(self.messages)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        # SMTP carries CRLF line ends; a mail client shows plain lines.
        text = body.get_content().replace("\r\n", "\n") if body is not None else ""
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        # A long subject is folded onto a continuation line; mail clients unfold it and drop the fold's blank.
        self.box.messages.append(Received(str(message["Subject"]).strip(), text.rstrip("\n")))
        return "250 OK"


@contextmanager
def smtp_server(
    *,
    tls: Certificate | None = None,
    implicit_tls: bool = False,
    login: tuple[str, str] | None = None,
    login_in_clear: bool = False,
) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1: plain; with `tls`, offering STARTTLS (or TLS from the first byte with
    `implicit_tls`); with `login`, requiring that user and password (over TLS only, unless `login_in_clear`:
    a server, or a machine in between, that takes a password in clear text)."""
    port = free_port()
    box = Mailbox(url=f"{'smtps' if implicit_tls else 'smtp'}://127.0.0.1:{port}")
    server_context = tls.server_context() if tls is not None else None

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        user, password = auth_data.login.decode(), auth_data.password.decode()
        box.logins.append((user, password))
        return AuthResult(success=(user, password) == login, handled=False)

    options: dict[str, Any] = {}
    if login is not None:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; a connection that is TLS from its first byte is too.
        tls_only = not (login_in_clear or implicit_tls)
        options.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls_only)
    if server_context is not None and not implicit_tls:
        options["tls_context"] = server_context
    controller = Controller(
        _Handler(box),
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context if implicit_tls else None,
        **options,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    """A private CA and a certificate it signed for 127.0.0.1, as PEM files: what a company's mail server has."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def private_ca_certificate(folder: Path) -> Certificate:
    """Made here, each time, with `cryptography`: nothing of this machine's trust store knows this CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tickit test private CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    made = Certificate(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    made.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    made.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return made


@dataclass
class Webhook:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)

    def received(self) -> list[Received]:
        """A webhook has no subject: the first line of its text stands for one."""
        out = []
        for post in list(self.posts):
            subject, _, body = str(post["text"]).partition("\n\n")
            out.append(Received(subject, body))
        return out


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            assert self.headers.get("Content-Type") == "application/json"
            hook.posts.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tickit"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SnsTopic:
    endpoint: str
    topic_arn: str
    queue_url: str
    seen: list[Received] = field(default_factory=list)

    def received(self) -> list[Received]:
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=self.endpoint)
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            batch = got.get("Messages", [])
            if not batch:
                return list(self.seen)
            for message in batch:
                note = json.loads(message["Body"])  # SNS's envelope: Subject and Message as published
                self.seen.append(Received(note.get("Subject", ""), note["Message"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@contextmanager
def sns_topic(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[SnsTopic]:
    """A topic on moto's server with a queue subscribed; boto3 in this process and the processes it
    starts reaches it through AWS_ENDPOINT_URL_SNS, with fake credentials and nothing of this machine's."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint)
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        topic_arn = sns.create_topic(Name="tickit-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="tickit-alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield SnsTopic(endpoint, topic_arn, queue_url)
    finally:
        server.stop()
