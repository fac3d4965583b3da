"""A channel to an Oblique server whose every call carries the token and a request id."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

import grpc

from oblique_client.v1 import (
    access_pb2_grpc,
    integration_pb2_grpc,
    sync_pb2_grpc,
    team_pb2_grpc,
    user_pb2_grpc,
)

Metadata = Tuple[Tuple[str, Union[str, bytes]], ...]

REQUEST_ID = "x-request-id"
"""Metadata key of the request id: the server logs the call under it and echoes it back."""


class _ClientCallDetails(grpc.ClientCallDetails):
    """ClientCallDetails is abstract in grpcio; this is the plain record the interceptor needs."""

    def __init__(self, details: grpc.ClientCallDetails, metadata: Metadata) -> None:
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class _AuthInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer …` and an `x-request-id` to every call.

    A request id the caller passes in the call's own metadata wins, so one id can follow a piece
    of work across several calls; otherwise each call gets a new one from `new_request_id`.
    """

    def __init__(self, token: str, new_request_id: Callable[[], str]) -> None:
        self._authorization = f"Bearer {token}"
        self._new_request_id = new_request_id

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = list(details.metadata or [])
        keys = {key.lower() for key, _ in metadata}
        if "authorization" not in keys:
            metadata.append(("authorization", self._authorization))
        if REQUEST_ID not in keys:
            metadata.append((REQUEST_ID, self._new_request_id()))
        return _ClientCallDetails(details, tuple(metadata))

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Iterator[Any]) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Iterator[Any]) -> Any:
        return continuation(self._details(details), requests)


@dataclass(frozen=True)
class Clients:
    """One stub per Oblique service, sharing one channel. Close it (or use `with`) when done."""

    channel: grpc.Channel
    integrations: integration_pb2_grpc.IntegrationServiceStub
    sync: sync_pb2_grpc.SyncServiceStub
    users: user_pb2_grpc.UserServiceStub
    teams: team_pb2_grpc.TeamServiceStub
    access: access_pb2_grpc.AccessServiceStub

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Clients":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(
    server: str,
    token: str,
    *,
    root_certificates: Optional[bytes] = None,
    allow_plaintext: bool = False,
    new_request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    options: Sequence[Tuple[str, Any]] = (),
) -> Clients:
    """Clients for the server at `server`, every call authenticated with `token`.

    `server` is a URL as the `oblique` CLI takes it: `https://host:port` (TLS, verified against
    `root_certificates` when given, else the machine's roots) or `http://host:port` (plaintext).
    Plaintext sends the token in clear, so it is refused for any host but loopback unless
    `allow_plaintext` is set (a private network behind a TLS-terminating proxy, say).
    """
    if not token:
        raise ValueError("token: is required")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"server: expected http://host:port or https://host:port, got {server!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"server: a gRPC server URL has no path, got {server!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    if parts.scheme == "https":
        credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        channel = grpc.secure_channel(target, credentials, options=list(options))
    else:
        if not (allow_plaintext or _is_loopback(host)):
            raise ValueError(
                f"server: http:// to {host} would send the token unencrypted; "
                "use https:// or pass allow_plaintext=True"
            )
        channel = grpc.insecure_channel(target, options=list(options))

    channel = grpc.intercept_channel(channel, _AuthInterceptor(token, new_request_id))
    return Clients(
        channel=channel,
        integrations=integration_pb2_grpc.IntegrationServiceStub(channel),
        sync=sync_pb2_grpc.SyncServiceStub(channel),
        users=user_pb2_grpc.UserServiceStub(channel),
        teams=team_pb2_grpc.TeamServiceStub(channel),
        access=access_pb2_grpc.AccessServiceStub(channel),
    )
