"""AppClient: Dify's plugin call shape (`session.app.chat | workflow | completion .invoke`) over gRPC."""

from __future__ import annotations

from typing import Any, Callable, Generator, Iterable, Literal, Mapping, Optional, Sequence, Union, overload

import grpc

from . import __version__
from ._convert import dict_to_struct, input_files, struct_to_dict
from ._errors import AppInvokeError
from .apps import AppCatalog
from .files import Files
from ._proto.dify.app.v1 import (
    chat_pb2,
    chat_pb2_grpc,
    completion_pb2,
    completion_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

ResponseMode = Literal["streaming", "blocking"]
Metadata = Sequence[tuple[str, str]]


class AppClient:
    """A channel to the gateway and the workspace token that every call presents.

    ``target`` is ``host:port``. Plaintext (h2c) unless ``tls`` is true or certificates are given:
    ``root_certificates`` (PEM bytes; None uses the system roots), and ``private_key`` with
    ``certificate_chain`` for mutual TLS. ``credentials`` takes ready-made channel credentials
    instead. ``timeout`` (seconds) is the default deadline of each call; for a stream it bounds the
    whole stream. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        target: str,
        token: str,
        *,
        tls: bool = False,
        root_certificates: Optional[bytes] = None,
        private_key: Optional[bytes] = None,
        certificate_chain: Optional[bytes] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        timeout: Optional[float] = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if not token:
            raise ValueError("token is required")
        if credentials is None and (tls or root_certificates or private_key or certificate_chain):
            credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
        channel_options = [("grpc.primary_user_agent", f"dify-app-client-python/{__version__}"), *options]
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=channel_options)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=channel_options)
        self._target = target
        # Metadata rather than call credentials: grpc refuses call credentials on plaintext channels,
        # and a gateway behind a mesh sidecar is reached in plaintext.
        calls = _Calls((("authorization", f"Bearer {token}"),), timeout)
        self.app = Apps(self._channel, calls)
        self.files = Files(self._channel, calls)
        self.apps = AppCatalog(self._channel, calls)

    def close(self) -> None:
        """Closes the channel; calls still running are cancelled."""
        self._channel.close()

    def __enter__(self) -> "AppClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # Never the token.
        return f"AppClient(target={self._target!r})"


class Apps:
    """``client.app``: the three interfaces, as ``session.app`` in a Dify plugin."""

    def __init__(self, channel: grpc.Channel, calls: "_Calls") -> None:
        self.chat = ChatApp(chat_pb2_grpc.ChatServiceStub(channel), calls)
        self.workflow = WorkflowApp(workflow_pb2_grpc.WorkflowServiceStub(channel), calls)
        self.completion = CompletionApp(completion_pb2_grpc.CompletionServiceStub(channel), calls)


class ChatApp:
    """Chat-type apps: Chatbot (chat), Agent (agent-chat), Chatflow (advanced-chat), New Agent."""

    def __init__(self, stub: chat_pb2_grpc.ChatServiceStub, calls: "_Calls") -> None:
        self._stub = stub
        self._calls = calls

    @overload
    def invoke(self, app_id: str, query: str, inputs: Optional[Mapping[str, Any]] = ..., response_mode: Literal["streaming"] = ..., conversation_id: Optional[str] = ..., files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ...) -> Generator[dict, None, None]: ...
    @overload
    def invoke(self, app_id: str, query: str, inputs: Optional[Mapping[str, Any]] = ..., *, response_mode: Literal["blocking"], conversation_id: Optional[str] = ..., files: Optional[Iterable[Any]] = ..., user: Optional[str] = ..., timeout: Optional[float] = ...) -> dict: ...
    @overload
    def invoke(self, app_id: str, query: str, inputs: Optional[Mapping[str, Any]], response_mode: Literal["blocking"], conversation_id: Optional[str] = ..., files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ...) -> dict: ...

    def invoke(
        self,
        app_id: str,
        query: str,
        inputs: Optional[Mapping[str, Any]] = None,
        response_mode: ResponseMode = "streaming",
        conversation_id: Optional[str] = None,
        files: Optional[Iterable[Any]] = None,
        *,
        user: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Union[Generator[dict, None, None], dict]:
        """Runs a chat app. ``"blocking"`` returns Dify's blocking-mode dict; ``"streaming"`` returns
        a generator of Dify's event dicts. Parameter order and defaults follow dify_plugin's
        ``session.app.chat.invoke``; ``files`` are Dify's file dicts; ``user`` defaults to the
        workspace's default user; ``timeout`` (seconds) overrides the client's."""
        fields = dict(
            app_id=app_id,
            query=query,
            inputs=dict_to_struct(inputs),
            conversation_id=conversation_id or "",
            files=input_files(files),
            user=user or "",
        )
        return self._calls.run(
            response_mode,
            lambda: (self._stub.ChatInvoke, chat_pb2.ChatInvokeRequest(**fields)),
            lambda: (self._stub.ChatInvokeStream, chat_pb2.ChatInvokeStreamRequest(**fields)),
            timeout,
        )


class _InputsApp:
    """Workflow and completion apps share one call shape: inputs and files, no query."""

    _unary: str
    _stream: str
    _unary_request: Any
    _stream_request: Any

    def __init__(self, stub: Any, calls: "_Calls") -> None:
        self._stub = stub
        self._calls = calls

    @overload
    def invoke(self, app_id: str, inputs: Optional[Mapping[str, Any]] = ..., response_mode: Literal["blocking"] = ..., files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ...) -> dict: ...
    @overload
    def invoke(self, app_id: str, inputs: Optional[Mapping[str, Any]] = ..., *, response_mode: Literal["streaming"], files: Optional[Iterable[Any]] = ..., user: Optional[str] = ..., timeout: Optional[float] = ...) -> Generator[dict, None, None]: ...
    @overload
    def invoke(self, app_id: str, inputs: Optional[Mapping[str, Any]], response_mode: Literal["streaming"], files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ...) -> Generator[dict, None, None]: ...

    def invoke(
        self,
        app_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        response_mode: ResponseMode = "blocking",
        files: Optional[Iterable[Any]] = None,
        *,
        user: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Union[Generator[dict, None, None], dict]:
        """Runs the app; as ``ChatApp.invoke``. The default mode is dify_plugin's."""
        fields = dict(app_id=app_id, inputs=dict_to_struct(inputs), files=input_files(files), user=user or "")
        return self._calls.run(
            response_mode,
            lambda: (getattr(self._stub, self._unary), self._unary_request(**fields)),
            lambda: (getattr(self._stub, self._stream), self._stream_request(**fields)),
            timeout,
        )


class WorkflowApp(_InputsApp):
    """Workflow apps. A run that ends failed, stopped or paused is a result (see ``data.status``),
    not an error, as in Dify."""

    _unary, _stream = "WorkflowInvoke", "WorkflowInvokeStream"
    _unary_request, _stream_request = workflow_pb2.WorkflowInvokeRequest, workflow_pb2.WorkflowInvokeStreamRequest


class CompletionApp(_InputsApp):
    """Completion (text generator) apps."""

    _unary, _stream = "CompletionInvoke", "CompletionInvokeStream"
    _unary_request, _stream_request = completion_pb2.CompletionInvokeRequest, completion_pb2.CompletionInvokeStreamRequest


Prepared = Callable[[], tuple[Any, Any]]


class _Calls:
    """What every call shares: the credentials, the default deadline, and the mapping of modes to RPCs."""

    def __init__(self, metadata: Metadata, default_timeout: Optional[float]) -> None:
        self._metadata = metadata
        self._default_timeout = default_timeout

    def run(self, response_mode: str, blocking: Prepared, streaming: Prepared, timeout: Optional[float]) -> Any:
        timeout = self._default_timeout if timeout is None else timeout
        if response_mode == "blocking":
            method, request = blocking()
            try:
                response = method(request, metadata=self._metadata, timeout=timeout)
            except grpc.RpcError as err:
                raise AppInvokeError.from_rpc_error(err) from None
            return struct_to_dict(response.raw)
        if response_mode == "streaming":
            method, request = streaming()
            return _events(method, request, self._metadata, timeout)
        raise ValueError(f'response_mode must be "streaming" or "blocking", not {response_mode!r}')


def _events(method: Any, request: Any, metadata: Metadata, timeout: Optional[float]) -> Generator[dict, None, None]:
    """Dify's event dicts, in order. The call starts at the first ``next()``, as with dify_plugin's
    generator; a generator that is never iterated never calls the gateway."""
    call = method(request, metadata=metadata, timeout=timeout)
    try:
        for message in call:
            yield struct_to_dict(message.raw)
    except grpc.RpcError as err:
        raise AppInvokeError.from_rpc_error(err) from None
    finally:
        # An early close() (or break, or garbage collection) lands here with the call still open:
        # cancelling it makes the gateway stop the Dify run. After the stream's end it is a no-op.
        call.cancel()
