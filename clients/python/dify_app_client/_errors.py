"""One exception for every failed call, read from the gRPC status and its google.rpc details."""

from __future__ import annotations

from typing import Optional

import grpc
from google.protobuf.message import DecodeError

try:
    # googleapis-common-protos, when the environment has it: registering a second copy of
    # google/rpc/*.proto in protobuf's default descriptor pool would make whichever loads second fail.
    from google.rpc import error_details_pb2, status_pb2
except ImportError:  # Debian ships no googleapis-common-protos: our own generated copy.
    from ._proto.google.rpc import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"


class AppInvokeError(Exception):
    """A call the gateway (or Dify behind it) refused or could not finish.

    Attributes:
        code: the gRPC status code, e.g. ``grpc.StatusCode.NOT_FOUND``.
        message: the status message.
        reason: ``google.rpc.ErrorInfo.reason``: Dify's error code in UPPER_SNAKE_CASE for upstream
            errors (domain ``dify``), else the gateway's (e.g. ``APP_NOT_FOUND``). None when the
            failure never reached the gateway (connection refused, local deadline).
        domain: ``dify`` for errors Dify returned, ``dify-grpc-gateway`` for the gateway's own.
        dify_code: Dify's own error code (``invalid_param``, ``app_unavailable``, …) when Dify
            returned the error, else the reason.
        metadata: ``ErrorInfo.metadata``, e.g. ``upstreamStatus``, ``upstreamCode``, ``field``, ``appId``.
        retry_delay: seconds to wait before retrying (``google.rpc.RetryInfo``), when the gateway says.
        field_violations: ``(field, description)`` pairs of a ``google.rpc.BadRequest``.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: Optional[str] = None,
        domain: Optional[str] = None,
        dify_code: Optional[str] = None,
        metadata: Optional[dict[str, str]] = None,
        retry_delay: Optional[float] = None,
        field_violations: Optional[list[tuple[str, str]]] = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.dify_code = dify_code
        self.metadata = metadata or {}
        self.retry_delay = retry_delay
        self.field_violations = field_violations or []

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "AppInvokeError":
        """From the error grpc raises: both unary errors and failed streams are grpc.Call objects."""
        code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
        message = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
        status = _rpc_status(err)
        if status is None:
            return cls(code, message)
        info = _unpack(status, error_details_pb2.ErrorInfo)
        retry = _unpack(status, error_details_pb2.RetryInfo)
        bad_request = _unpack(status, error_details_pb2.BadRequest)
        metadata = dict(info.metadata) if info else {}
        reason = info.reason if info else None
        return cls(
            code,
            message,
            reason=reason,
            domain=info.domain if info else None,
            dify_code=metadata.get("upstreamCode") or reason,
            metadata=metadata,
            retry_delay=retry.retry_delay.ToNanoseconds() / 1e9 if retry and retry.HasField("retry_delay") else None,
            field_violations=[(v.field, v.description) for v in bad_request.field_violations] if bad_request else [],
        )


def _rpc_status(err: grpc.RpcError):
    if not isinstance(err, grpc.Call):
        return None
    for key, value in err.trailing_metadata() or ():
        if key == _DETAILS_KEY:
            status = status_pb2.Status()
            try:
                status.ParseFromString(value)
            except DecodeError:  # A malformed trailer must not hide the status code we already have.
                return None
            return status
    return None


def _unpack(status, message_type):
    for detail in status.details:
        if detail.Is(message_type.DESCRIPTOR):
            message = message_type()
            detail.Unpack(message)
            return message
    return None
