"""Delivering one alert: an SNS topic, mail over SMTP, a chat webhook. Each raises on failure; the
notifiers catch and log it, so an alert can never fail the task it reports on."""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from tickit_platform.orchestration.alerts.messages import Alert

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


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line
    # True: TLS from the first byte (smtps, usually port 465); False: STARTTLS when the server offers it.
    ssl: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        ssl = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if ssl else 25),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ssl=ssl,
        )

    @classmethod
    def from_connection(cls, connection: Any) -> SmtpServer:
        """An Airflow connection (type smtp or any): host, port, login, password, extra {"ssl": true}."""
        extra = connection.extra_dejson or {}
        ssl = str(extra.get("ssl", False)).lower() in ("true", "1", "yes")
        return cls(
            host=connection.host or "localhost",
            port=int(connection.port or (465 if ssl else 25)),
            user=connection.login or None,
            password=connection.password or None,
            ssl=ssl,
        )

    def __str__(self) -> str:
        return f"{'smtps' if self.ssl else 'smtp'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Mail:
    """Where mail alerts go: the server, the sender and the recipients."""

    server: SmtpServer
    sender: str
    recipients: tuple[str, ...]

    def __str__(self) -> str:
        return f"{', '.join(self.recipients)} through {self.server}"


def send_email(mail: Mail, alert: Alert) -> None:
    server = mail.server
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message.set_content(alert.body)
    smtp: smtplib.SMTP
    if server.ssl:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
    with smtp:
        if not server.ssl:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
        if server.user:
            smtp.login(server.user, server.password or "")
        smtp.send_message(message)


def default_sender() -> str:
    return f"tickit-alerts@{socket.getfqdn() or 'localhost'}"


def post_webhook(url: str, alert: Alert) -> None:
    """POST `{"text": ...}`: what Slack's incoming webhooks take, and most chat tools' compatible ones."""
    body = json.dumps({"text": alert.text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()
