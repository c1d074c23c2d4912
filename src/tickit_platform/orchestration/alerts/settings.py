"""Where alerts go and when the load's quarantine is worth one: typed, read at parse time, no Airflow import.

Every setting comes from the environment (`tickit run` passes it on through `DagConfig`), or, when the
environment leaves it unset, from the Airflow Variable of the same name in lower case
(`TICKIT_ALERT_WEBHOOK_URL` -> `tickit_alert_webhook_url`), looked up only when an alert is sent: MWAA's
startup script exports nothing for alerts, Terraform sets the Variables there, and a parse never waits
on a Variable. The SMTP server may also be the Airflow connection `tickit_alert_smtp`.

A webhook URL is a secret (Slack's carries its token in the path), and so is the password of an SMTP URL:
an error about a setting names the variable and what is wrong with it, never its value, and a log line
shows a destination only as `redacted` makes it (scheme and host).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tickit_platform import envvars
from tickit_platform.errors import SettingsError

SMTP_CONNECTION_ID = "tickit_alert_smtp"


def variable_name(env_name: str) -> str:
    """The Airflow Variable that stands in for an unset environment variable."""
    return env_name.lower()


@dataclass(frozen=True)
class AlertSettings:
    """What the environment says; None (or empty) leaves the setting to its Airflow Variable."""

    sns_topic_arn: str | None = None
    webhook_url: str | None = None
    # smtp://[user[:password]@]host[:port] (STARTTLS when offered; required with a login) or smtps:// (TLS
    # throughout). The server's certificate is always verified, against smtp_ca_file when it is set.
    smtp_url: str | None = None
    smtp_ca_file: str | None = None
    email_to: tuple[str, ...] = ()
    email_from: str | None = None
    # Alert when one load quarantines more lines than this, over all files; None: the Variable, else 0.
    quarantine_threshold: int | None = None

    def __post_init__(self) -> None:
        check_sns_topic_arn(self.sns_topic_arn, envvars.ALERT_SNS_TOPIC_ARN)
        check_webhook_url(self.webhook_url, envvars.ALERT_WEBHOOK_URL)
        check_smtp_url(self.smtp_url, envvars.ALERT_SMTP_URL)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertSettings:
        raw_threshold = envvars.text(env, envvars.ALERT_QUARANTINE_THRESHOLD)
        return cls(
            sns_topic_arn=envvars.text(env, envvars.ALERT_SNS_TOPIC_ARN),
            webhook_url=envvars.text(env, envvars.ALERT_WEBHOOK_URL),
            smtp_url=envvars.text(env, envvars.ALERT_SMTP_URL),
            smtp_ca_file=envvars.text(env, envvars.ALERT_SMTP_CA_FILE),
            email_to=addresses(envvars.text(env, envvars.ALERT_EMAIL_TO)),
            email_from=envvars.text(env, envvars.ALERT_EMAIL_FROM),
            quarantine_threshold=(
                None if raw_threshold is None else envvars.whole_number(env, envvars.ALERT_QUARANTINE_THRESHOLD, 0)
            ),
        )

    def channels(self) -> tuple[str, ...]:
        """The channels these settings turn on (Airflow Variables may turn on more, where Airflow runs)."""
        on = {"Amazon SNS": self.sns_topic_arn, "email": self.email_to, "webhook": self.webhook_url}
        return tuple(name for name, value in on.items() if value)

    def to_env(self) -> dict[str, str]:
        values = {
            envvars.ALERT_SNS_TOPIC_ARN: self.sns_topic_arn,
            envvars.ALERT_WEBHOOK_URL: self.webhook_url,
            envvars.ALERT_SMTP_URL: self.smtp_url,
            envvars.ALERT_SMTP_CA_FILE: self.smtp_ca_file,
            envvars.ALERT_EMAIL_TO: ", ".join(self.email_to) or None,
            envvars.ALERT_EMAIL_FROM: self.email_from,
            envvars.ALERT_QUARANTINE_THRESHOLD: (
                None if self.quarantine_threshold is None else str(self.quarantine_threshold)
            ),
        }
        return {name: value for name, value in values.items() if value is not None}


def addresses(text: str | None) -> tuple[str, ...]:
    """`a@example.com, b@example.com` as a tuple of addresses."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def redacted(url: str) -> str:
    """A URL as a log line may show it: scheme and host (and port), without user, password, path or query."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "(a URL that cannot be read)"
    if not parts.scheme or not host:
        return "(a URL without scheme or host)"
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}{f':{port}' if port else ''}{'/…' if parts.path.strip('/') or parts.query else ''}"


# The value of a setting that may hold a secret is never repeated: say what is wrong, and where.
NOT_SHOWN = "(its value is not shown: it may hold a secret)"


def _url_problem(value: str, schemes: tuple[str, ...]) -> str | None:
    """What is wrong with this URL, in words that repeat nothing of it; None when nothing is."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a URL that can be read (a port that is not a number, or a bracket out of place)"
    if parts.scheme.lower() not in schemes:
        return f"does not start with {' or '.join(f'{scheme}://' for scheme in schemes)}"
    if not parts.hostname:
        return "names no host"
    return None


def check_sns_topic_arn(value: str | None, name: str) -> str | None:
    if value is not None and not (value.startswith("arn:") and value.split(":")[2:3] == ["sns"]):
        raise SettingsError(f"{name} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>) {NOT_SHOWN}")
    return value


def check_webhook_url(value: str | None, name: str) -> str | None:
    if value is not None and (problem := _url_problem(value, ("https", "http"))):
        raise SettingsError(f"{name} is not an https:// URL: it {problem} {NOT_SHOWN}")
    return value


def check_smtp_url(value: str | None, name: str) -> str | None:
    if value is not None and (problem := _url_problem(value, ("smtp", "smtps"))):
        raise SettingsError(
            f"{name} is not an smtp://[user:password@]host[:port] or smtps://… URL: it {problem} {NOT_SHOWN}"
        )
    return value
