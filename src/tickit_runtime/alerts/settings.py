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

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tickit_runtime import envvars
from tickit_runtime.errors import SettingsError
from tickit_runtime.redaction import masked, redacted_repr

SMTP_CONNECTION_ID = "tickit_alert_smtp"
# The settings whose value may hold a secret (a webhook's token, an SMTP password). Their Airflow Variables
# are named in Airflow's `[core] sensitive_var_conn_names` (locally and on MWAA), so that Airflow's UI, REST
# API and logs show them as `***`; neither name has a word (`password`, `secret`) Airflow hides by itself.
SECRET_SETTINGS = (envvars.ALERT_WEBHOOK_URL, envvars.ALERT_SMTP_URL)


def variable_name(env_name: str) -> str:
    """The Airflow Variable that stands in for an unset environment variable."""
    return env_name.lower()


def sensitive_variable_names() -> str:
    """The value of Airflow's `[core] sensitive_var_conn_names` that hides the alerts' secret Variables."""
    return ",".join(variable_name(name) for name in SECRET_SETTINGS)


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
    # An http:// webhook to another machine sends its token in clear text: refused unless this is set.
    # None: the Variable (looked up only for such a URL), else refused. Loopback never needs it.
    webhook_allow_http: bool | None = None

    def __post_init__(self) -> None:
        check_sns_topic_arn(self.sns_topic_arn, envvars.ALERT_SNS_TOPIC_ARN)
        check_webhook_url(self.webhook_url, envvars.ALERT_WEBHOOK_URL, allow_http=bool(self.webhook_allow_http))
        check_smtp_url(self.smtp_url, envvars.ALERT_SMTP_URL)

    def __repr__(self) -> str:
        return redacted_repr(self, webhook_url=masked(self.webhook_url), smtp_url=masked(self.smtp_url))

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
            webhook_allow_http=envvars.flag(env, envvars.ALERT_WEBHOOK_ALLOW_HTTP),
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
            envvars.ALERT_WEBHOOK_ALLOW_HTTP: (
                None if self.webhook_allow_http is None else str(self.webhook_allow_http).lower()
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


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: a loopback address, or `localhost` (which resolves to one, RFC 6761)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_webhook_url(
    value: str | None, name: str, *, allow_http: bool = False, allow_name: str = envvars.ALERT_WEBHOOK_ALLOW_HTTP
) -> str | None:
    """The URL, when it can be posted to: an https:// URL, or an http:// one to this machine or allowed by
    `allow_name` (the setting that allowed it, named in the error)."""
    if value is None:
        return value
    if problem := _url_problem(value, ("https", "http")):
        raise SettingsError(f"{name} is not an https:// URL: it {problem} {NOT_SHOWN}")
    parts = urlsplit(value)
    # Loopback traffic never leaves the machine (a local receiver, a test's); anything else would carry the
    # token in clear text to whoever is on the path.
    if parts.scheme.lower() == "http" and not allow_http and not is_loopback(parts.hostname or ""):
        raise SettingsError(
            f"{name} is an http:// URL to another machine: its token would cross the network unencrypted. "
            f"Use https://, or set {allow_name}=true to send it anyway {NOT_SHOWN}"
        )
    return value


def check_smtp_url(value: str | None, name: str) -> str | None:
    if value is not None and (problem := _url_problem(value, ("smtp", "smtps"))):
        raise SettingsError(
            f"{name} is not an smtp://[user:password@]host[:port] or smtps://… URL: it {problem} {NOT_SHOWN}"
        )
    return value
