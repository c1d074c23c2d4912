"""Delivering one alert: an SNS topic, mail over SMTP, a chat webhook. Each raises on failure; the
notifiers catch and log it, so an alert can never fail the task it reports on."""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from ssl import SSLCertVerificationError, SSLContext, SSLError, create_default_context
from typing import Any
from urllib.parse import unquote, urlsplit

from tickit_runtime import envvars
from tickit_runtime.alerts.messages import Alert
from tickit_runtime.redaction import masked, redacted_repr

# A slow channel delays the end of the task it reports on (its slot stays taken); a dead one must not hang it.
TIMEOUT_SECONDS = 10.0
# SNS refuses a subject longer than 100 characters, or one with line breaks or non-ASCII characters.
SNS_SUBJECT_LIMIT = 100


def sns_subject(subject: str) -> str:
    text = " ".join(subject.split()).encode("ascii", "replace").decode()
    return text if len(text) <= SNS_SUBJECT_LIMIT else text[: SNS_SUBJECT_LIMIT - 3] + "..."


def publish_sns(topic_arn: str, alert: Alert) -> None:
    """Publish to the topic; credentials, and an endpoint (AWS_ENDPOINT_URL_SNS), are boto3's own."""
    import boto3  # Airflow's environment has it on MWAA and here; imported only when an alert goes out.
    from botocore.config import Config

    region = topic_arn.split(":")[3]
    config = Config(connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS, retries={"max_attempts": 2})
    client = boto3.client("sns", region_name=region, config=config)
    client.publish(TopicArn=topic_arn, Subject=sns_subject(alert.subject), Message=alert.body)


class SmtpRefusedError(Exception):
    """The mail was not sent because sending it would have been unsafe; the message says why."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str | None = None
    password: str | None = None  # never in a log line
    # True: TLS from the first byte (smtps, usually port 465); False: STARTTLS when the server offers it,
    # and required when there is a password to send.
    ssl: bool = False
    # The CA (a PEM file) that signed the server's certificate, for a private CA; None: the system's CAs.
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, ca_file: str | None = None) -> SmtpServer:
        parts = urlsplit(url)
        ssl = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if ssl else 25),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ssl=ssl,
            ca_file=ca_file,
        )

    @classmethod
    def from_connection(cls, connection: Any, ca_file: str | None = None) -> SmtpServer:
        """An Airflow connection (type smtp or any): host, port, login, password, extra {"ssl": true} and
        optionally {"ca_file": "/path/ca.pem"} (which wins over the setting)."""
        extra = connection.extra_dejson or {}
        ssl = str(extra.get("ssl", False)).lower() in ("true", "1", "yes")
        return cls(
            host=connection.host or "localhost",
            port=int(connection.port or (465 if ssl else 25)),
            user=connection.login or None,
            password=connection.password or None,
            ssl=ssl,
            ca_file=extra.get("ca_file") or ca_file,
        )

    def __str__(self) -> str:
        return f"{'smtps' if self.ssl else 'smtp'}://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return redacted_repr(self, password=masked(self.password))

    def tls_context(self) -> SSLContext:
        """Python's verifying defaults: the certificate must chain to a trusted CA and name the host."""
        try:
            return create_default_context(cafile=self.ca_file)
        except (OSError, SSLError) as error:
            raise SmtpRefusedError(
                f"the SMTP CA file ({envvars.ALERT_SMTP_CA_FILE}) could not be read as PEM certificates: "
                f"{type(error).__name__}: {error.strerror if isinstance(error, OSError) and error.strerror else error}"
            ) from None


@dataclass(frozen=True)
class Mail:
    """Where mail alerts go: the server, the sender and the recipients."""

    server: SmtpServer
    sender: str
    recipients: tuple[str, ...]
    # The setting it came from, if a URL: a secret when it holds the password.
    url: str | None = None

    def __str__(self) -> str:
        return f"{', '.join(self.recipients)} through {self.server}"

    def __repr__(self) -> str:
        return redacted_repr(self, url=masked(self.url))


def send_email(mail: Mail, alert: Alert) -> None:
    server = mail.server
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message.set_content(alert.body)
    context = server.tls_context()
    smtp: smtplib.SMTP
    try:
        if server.ssl:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
        with smtp:
            if not server.ssl:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif server.user:
                    # A server that does not offer STARTTLS (or a machine in between that strips it) would
                    # get the password in clear text.
                    raise SmtpRefusedError(
                        f"{server} does not offer STARTTLS, so the login (and its password) would cross the "
                        "network unencrypted; nothing was sent. Use a server that offers STARTTLS, or smtps://"
                    )
            if server.user:
                smtp.login(server.user, server.password or "")
            smtp.send_message(message)
    except SSLCertVerificationError as error:
        raise SmtpRefusedError(
            f"the certificate of {server} could not be verified ({error.verify_message}); nothing was sent. "
            f"For a server whose certificate a private CA signed, set {envvars.ALERT_SMTP_CA_FILE} to that "
            "CA's PEM file"
        ) from None


def default_sender() -> str:
    return f"tickit-alerts@{socket.getfqdn() or 'localhost'}"


def post_webhook(url: str, alert: Alert) -> None:
    """POST `{"text": ...}`: what Slack's incoming webhooks take, and most chat tools' compatible ones."""
    body = json.dumps({"text": alert.text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()
