"""Real receivers for the alerts, on 127.0.0.1: an SMTP server, an HTTP webhook and SNS (moto's server)
with an SQS queue subscribed to the topic. Each collects what arrived, as a person would read it."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
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
def smtp_server() -> Iterator[Mailbox]:
    port = free_port()
    box = Mailbox(url=f"smtp://127.0.0.1:{port}")
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


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
