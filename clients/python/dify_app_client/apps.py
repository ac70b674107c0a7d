"""``client.apps``: the apps of the caller's workspace and what their runs take (AppService)."""

from __future__ import annotations

from typing import Any, Optional

import grpc

from ._convert import struct_to_dict
from ._errors import AppInvokeError
from ._proto.dify.app.v1 import app_pb2, app_pb2_grpc


class AppCatalog:
    """``client.apps``. Shares the client's channel, token and default deadline."""

    def __init__(self, channel: grpc.Channel, calls: Any) -> None:
        self._stub = app_pb2_grpc.AppServiceStub(channel)
        self._calls = calls

    def list(self, *, timeout: Optional[float] = None) -> "list[dict]":
        """The workspace's apps: dicts with ``app_id``, ``mode`` and ``name`` (``mode`` and ``name`` are empty
        when neither the gateway's config nor Dify told)."""
        response = self._call(self._stub.ListApps, app_pb2.ListAppsRequest(), timeout)
        return [{"app_id": a.app_id, "mode": a.mode, "name": a.name} for a in response.apps]

    def describe(self, app_id: str, *, timeout: Optional[float] = None) -> dict:
        """One app: ``app_id``, ``mode``, ``info`` (Dify's ``GET /info``), ``parameters`` (Dify's
        ``GET /parameters``, with ``user_input_form``) and ``input_schema``, a JSON Schema (draft 2020-12) of
        the run's ``inputs``. Another workspace's app, or an unknown one, raises ``AppInvokeError`` NOT_FOUND."""
        response = self._call(self._stub.DescribeApp, app_pb2.DescribeAppRequest(app_id=app_id), timeout)
        return {
            "app_id": response.app_id,
            "mode": response.mode,
            "info": struct_to_dict(response.info),
            "parameters": struct_to_dict(response.parameters),
            "input_schema": struct_to_dict(response.input_schema),
        }

    def _call(self, method: Any, request: Any, timeout: Optional[float]) -> Any:
        timeout = self._calls._default_timeout if timeout is None else timeout
        try:
            return method(request, metadata=self._calls._metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise AppInvokeError.from_rpc_error(err) from None
