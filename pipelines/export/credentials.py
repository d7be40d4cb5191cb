"""A partner's delivery credentials, found at run time from the contract's reference, never from the contract.

A contract names where its S3 credentials are (`credentials:` in `pipelines.registry.CredentialsRef`):

- `{env: MELODY_FEED}`: environment variables with that prefix: `MELODY_FEED_ACCESS_KEY_ID` and
  `MELODY_FEED_SECRET_ACCESS_KEY`, and `MELODY_FEED_SESSION_TOKEN` when the key is temporary;
- `{airflow_conn_id: melody_s3}`: an Airflow connection (`BaseHook.get_connection`, so any secrets backend
  Airflow is configured with, `AIRFLOW_CONN_MELODY_S3` included): login = access key id, password = secret
  access key, extra `aws_session_token` when temporary.

A reference that does not resolve raises `CredentialsError` naming the reference and what is missing, never a
value; the export then blocks that partner's delivery and goes on with the others. A contract without
`credentials` uses boto3's default chain (the run's own role or environment).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pipelines.registry import CredentialsRef

ENV_SUFFIXES = ("_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY")
SESSION_TOKEN_SUFFIX = "_SESSION_TOKEN"


class CredentialsError(ValueError):
    """A contract's credentials reference does not resolve."""


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = ""  # the reference they came from, for messages

    def client_kwargs(self) -> dict[str, str | None]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


def describe(ref: CredentialsRef) -> str:
    return f"credentials {{env: {ref.env}}}" if ref.env else f"credentials {{airflow_conn_id: {ref.airflow_conn_id}}}"


def _airflow_connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def resolve(
    ref: CredentialsRef, environ: Mapping[str, str] | None = None, get_connection: Callable[[str], object] | None = None
) -> S3Credentials:
    """The S3 credentials `ref` names: from the environment (`environ`, default os.environ) or an Airflow
    connection (`get_connection`, default Airflow's lookup)."""
    where = describe(ref)
    if ref.env:
        environ = os.environ if environ is None else environ
        names = [f"{ref.env}{suffix}" for suffix in ENV_SUFFIXES]
        missing = [name for name in names if not environ.get(name)]
        if missing:
            raise CredentialsError(f"{where}: environment variable {' and '.join(missing)} not set")
        return S3Credentials(
            environ[names[0]], environ[names[1]], environ.get(f"{ref.env}{SESSION_TOKEN_SUFFIX}") or None, where
        )
    conn_id = ref.airflow_conn_id
    try:
        connection = (get_connection or _airflow_connection)(conn_id)
    except ImportError as exc:
        raise CredentialsError(f"{where}: Airflow is not installed here, so the connection cannot be looked up") from exc
    except Exception as exc:  # AirflowNotFoundException, or a secrets backend that cannot be reached
        raise CredentialsError(f"{where}: no such Airflow connection ({type(exc).__name__})") from exc
    missing = [name for name in ("login", "password") if not getattr(connection, name, None)]
    if missing:
        raise CredentialsError(f"{where}: the connection has no {' and '.join(missing)} (access key id, secret access key)")
    extra = getattr(connection, "extra_dejson", None) or {}
    return S3Credentials(connection.login, connection.password, extra.get("aws_session_token"), where)
