"""AppClient: Dify's plugin call shape (`session.app.chat | workflow | completion .invoke`) over gRPC."""

from __future__ import annotations

import time
from typing import Any, Callable, Generator, Iterable, Literal, Mapping, Optional, Sequence, Union, overload

import grpc

from . import __version__
from ._convert import dict_to_struct, input_files, struct_to_dict
from ._errors import AppInvokeError
from .apps import AppCatalog
from .files import Files
from ._reattach import reattaching
from ._proto.dify.app.v1 import (
    chat_pb2,
    chat_pb2_grpc,
    completion_pb2,
    completion_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
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

    ``max_reattaches`` bounds how often a workflow or Chatflow stream re-attaches by itself after a
    gateway handed its run off during a drain (default 3; 0 raises the ``AppInvokeError`` instead):
    see ``_reattach.py``, and the events ``gateway_reattached`` and ``gateway_run_confirmed``.
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
        max_reattaches: int = 3,
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
        calls = _Calls((("authorization", f"Bearer {token}"),), timeout, max_reattaches)
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
        runs = run_pb2_grpc.RunServiceStub(channel)
        self.chat = ChatApp(chat_pb2_grpc.ChatServiceStub(channel), calls, runs)
        self.workflow = WorkflowApp(workflow_pb2_grpc.WorkflowServiceStub(channel), calls, runs)
        self.completion = CompletionApp(completion_pb2_grpc.CompletionServiceStub(channel), calls)


class _RunCalls:
    """Runs that outlive their first call (workflow and Chatflow apps): re-attach, status, and the forms
    of Human Input nodes. A paused blocking answer names the run in ``pause["workflow_run_id"]`` and its
    forms in ``pause["forms"]`` (``form_token``, ``node_id``, ``node_title``, ``form_content``, ``actions``,
    ``expiration_time``)."""

    _runs: run_pb2_grpc.RunServiceStub
    _calls: "_Calls"

    def watch_run(
        self,
        app_id: str,
        workflow_run_id: str,
        *,
        user: Optional[str] = None,
        include_state_snapshot: bool = False,
        continue_on_pause: bool = False,
        timeout: Optional[float] = None,
    ) -> Generator[dict, None, None]:
        """Re-attaches to a run: its event dicts, as ``invoke``'s stream yields them. Closing the generator
        never stops the run (this call did not start it). ``user`` must be the run's."""
        request = run_pb2.WatchRunRequest(
            app_id=app_id,
            workflow_run_id=workflow_run_id,
            user=user or "",
            include_state_snapshot=include_state_snapshot,
            continue_on_pause=continue_on_pause,
        )
        return self._calls.stream(self._runs.WatchRun, request, timeout)

    def _followed(self, result: Any, app_id: str, user: Optional[str], timeout: Optional[float]) -> Any:
        """A streaming result that follows its run through a drain hand-off (a blocking dict as it is). The
        timeout bounds the whole stream, re-attaches included: each WatchRun and the final GetWorkflowRun get
        the time left, not a fresh timeout."""
        if isinstance(result, dict):
            return result
        return self._bounded(result, app_id, user, self._calls.timeout(timeout))

    def _bounded(
        self, first: Generator[dict, None, None], app_id: str, user: Optional[str], timeout: Optional[float]
    ) -> Generator[dict, None, None]:
        # A generator: the clock starts at the first next(), when the first stream's own call starts.
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> Optional[float]:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        yield from reattaching(
            first,
            lambda run_id: self.watch_run(app_id, run_id, user=user, include_state_snapshot=True, timeout=left()),
            lambda run_id: self.get_run(app_id, run_id, timeout=left()),
            self._calls.max_reattaches,
        )

    def get_run(self, app_id: str, workflow_run_id: str, *, timeout: Optional[float] = None) -> dict:
        """Dify's run detail: ``status``, ``outputs`` (``{}`` while paused), ``inputs`` (a JSON string), ..."""
        request = run_pb2.GetWorkflowRunRequest(app_id=app_id, workflow_run_id=workflow_run_id)
        return self._calls.unary(self._runs.GetWorkflowRun, request, timeout)

    def get_form(self, app_id: str, form_token: str, *, timeout: Optional[float] = None) -> dict:
        """A paused run's form: ``form_content``, ``inputs``, ``user_actions``, ``expiration_time``."""
        request = run_pb2.GetHumanInputFormRequest(app_id=app_id, form_token=form_token)
        return self._calls.unary(self._runs.GetHumanInputForm, request, timeout)

    def submit_form(
        self,
        app_id: str,
        form_token: str,
        action: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        user: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> dict:
        """Answers a form with one of its ``user_actions``; returns Dify's ``{}``. A rejected submit raises
        AppInvokeError (INVALID_ARGUMENT) and leaves the form open; an accepted one is final."""
        request = run_pb2.SubmitHumanInputFormRequest(
            app_id=app_id, form_token=form_token, inputs=dict_to_struct(inputs), action=action, user=user or ""
        )
        return self._calls.unary(self._runs.SubmitHumanInputForm, request, timeout)

    def resume(
        self,
        app_id: str,
        workflow_run_id: str,
        form_token: str,
        action: str,
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        user: Optional[str] = None,
        include_state_snapshot: bool = False,
        continue_on_pause: bool = False,
        timeout: Optional[float] = None,
    ) -> Generator[dict, None, None]:
        """Submits the form, then follows the resumed run to its end (or its next pause, unless
        ``continue_on_pause``). Events the run emitted before the stream attached can be missing:
        confirm the outcome with ``get_run``, as Dify's streaming guide advises."""
        self.submit_form(app_id, form_token, action, inputs, user=user, timeout=timeout)
        return self.watch_run(
            app_id,
            workflow_run_id,
            user=user,
            include_state_snapshot=include_state_snapshot,
            continue_on_pause=continue_on_pause,
            timeout=timeout,
        )


class ChatApp(_RunCalls):
    """Chat-type apps: Chatbot (chat), Agent (agent-chat), Chatflow (advanced-chat), New Agent.
    A blocking answer adds ``pause`` when a Chatflow paused for human input, and ``reasoning`` (the
    ``reasoning_chunk`` texts joined) when the model's reasoning came separately."""

    def __init__(self, stub: chat_pb2_grpc.ChatServiceStub, calls: "_Calls", runs: run_pb2_grpc.RunServiceStub) -> None:
        self._stub = stub
        self._calls = calls
        self._runs = runs

    @overload
    def invoke(self, app_id: str, query: str, inputs: Optional[Mapping[str, Any]] = ..., response_mode: Literal["streaming"] = ..., conversation_id: Optional[str] = ..., files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ..., workflow_id: Optional[str] = ...) -> Generator[dict, None, None]: ...
    @overload
    def invoke(self, app_id: str, query: str, inputs: Optional[Mapping[str, Any]] = ..., *, response_mode: Literal["blocking"], conversation_id: Optional[str] = ..., files: Optional[Iterable[Any]] = ..., user: Optional[str] = ..., timeout: Optional[float] = ..., workflow_id: Optional[str] = ...) -> dict: ...
    @overload
    def invoke(self, app_id: str, query: str, inputs: Optional[Mapping[str, Any]], response_mode: Literal["blocking"], conversation_id: Optional[str] = ..., files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ..., workflow_id: Optional[str] = ...) -> dict: ...

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
        workflow_id: Optional[str] = None,
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
        if workflow_id:
            # A Chatflow's published version; absent, its current one.
            fields["workflow_id"] = workflow_id
        result = self._calls.run(
            response_mode,
            lambda: (self._stub.ChatInvoke, chat_pb2.ChatInvokeRequest(**fields)),
            lambda: (self._stub.ChatInvokeStream, chat_pb2.ChatInvokeStreamRequest(**fields)),
            timeout,
        )
        # A Chatflow stream re-attaches after a drain hand-off; a chat app's stream is never handed off.
        return self._followed(result, app_id, user, timeout)


class _InputsApp:
    """Workflow and completion apps share one call shape: inputs and files, no query."""

    _unary: str
    _stream: str
    _unary_request: Any
    _stream_request: Any

    def __init__(self, stub: Any, calls: "_Calls", runs: Optional[run_pb2_grpc.RunServiceStub] = None) -> None:
        self._stub = stub
        self._calls = calls
        if runs is not None:
            self._runs = runs

    @overload
    def invoke(self, app_id: str, inputs: Optional[Mapping[str, Any]] = ..., response_mode: Literal["blocking"] = ..., files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ..., workflow_id: Optional[str] = ...) -> dict: ...
    @overload
    def invoke(self, app_id: str, inputs: Optional[Mapping[str, Any]] = ..., *, response_mode: Literal["streaming"], files: Optional[Iterable[Any]] = ..., user: Optional[str] = ..., timeout: Optional[float] = ..., workflow_id: Optional[str] = ...) -> Generator[dict, None, None]: ...
    @overload
    def invoke(self, app_id: str, inputs: Optional[Mapping[str, Any]], response_mode: Literal["streaming"], files: Optional[Iterable[Any]] = ..., *, user: Optional[str] = ..., timeout: Optional[float] = ..., workflow_id: Optional[str] = ...) -> Generator[dict, None, None]: ...

    def invoke(
        self,
        app_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        response_mode: ResponseMode = "blocking",
        files: Optional[Iterable[Any]] = None,
        *,
        user: Optional[str] = None,
        timeout: Optional[float] = None,
        workflow_id: Optional[str] = None,
    ) -> Union[Generator[dict, None, None], dict]:
        """Runs the app; as ``ChatApp.invoke``. The default mode is dify_plugin's. ``workflow_id``
        (workflow apps) runs that published version."""
        fields: dict[str, Any] = dict(app_id=app_id, inputs=dict_to_struct(inputs), files=input_files(files), user=user or "")
        if workflow_id:
            if "workflow_id" not in self._unary_request.DESCRIPTOR.fields_by_name:
                raise TypeError("workflow_id is for workflow and Chatflow apps")
            fields["workflow_id"] = workflow_id
        result = self._calls.run(
            response_mode,
            lambda: (getattr(self._stub, self._unary), self._unary_request(**fields)),
            lambda: (getattr(self._stub, self._stream), self._stream_request(**fields)),
            timeout,
        )
        return self._followed(result, app_id, user, timeout) if isinstance(self, _RunCalls) else result


class WorkflowApp(_InputsApp, _RunCalls):
    """Workflow apps. A run that ends failed, stopped or paused is a result (see ``data.status``),
    not an error, as in Dify; a paused one also carries ``pause`` (see ``_RunCalls``)."""

    _unary, _stream = "WorkflowInvoke", "WorkflowInvokeStream"
    _unary_request, _stream_request = workflow_pb2.WorkflowInvokeRequest, workflow_pb2.WorkflowInvokeStreamRequest


class CompletionApp(_InputsApp):
    """Completion (text generator) apps."""

    _unary, _stream = "CompletionInvoke", "CompletionInvokeStream"
    _unary_request, _stream_request = completion_pb2.CompletionInvokeRequest, completion_pb2.CompletionInvokeStreamRequest


Prepared = Callable[[], tuple[Any, Any]]


class _Calls:
    """What every call shares: the credentials, the default deadline, and the mapping of modes to RPCs."""

    def __init__(self, metadata: Metadata, default_timeout: Optional[float], max_reattaches: int = 3) -> None:
        self._metadata = metadata
        self._default_timeout = default_timeout
        self.max_reattaches = max_reattaches

    def timeout(self, timeout: Optional[float]) -> Optional[float]:
        """A call's timeout: its own, else the client's default."""
        return self._default_timeout if timeout is None else timeout

    def run(self, response_mode: str, blocking: Prepared, streaming: Prepared, timeout: Optional[float]) -> Any:
        timeout = self.timeout(timeout)
        if response_mode == "blocking":
            method, request = blocking()
            return self.unary(method, request, timeout)
        if response_mode == "streaming":
            method, request = streaming()
            return _events(method, request, self._metadata, timeout)
        raise ValueError(f'response_mode must be "streaming" or "blocking", not {response_mode!r}')

    def unary(self, method: Any, request: Any, timeout: Optional[float]) -> dict:
        """``raw``, plus ``pause`` and ``reasoning`` when the response has them (keys Dify's dict does not use)."""
        timeout = self._default_timeout if timeout is None else timeout
        try:
            response = method(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise AppInvokeError.from_rpc_error(err) from None
        result = struct_to_dict(response.raw)
        descriptor = response.DESCRIPTOR.fields_by_name
        if "pause" in descriptor and response.HasField("pause"):
            result["pause"] = _pause(response.pause)
        if "reasoning" in descriptor and response.reasoning:
            result["reasoning"] = response.reasoning
        return result

    def stream(self, method: Any, request: Any, timeout: Optional[float]) -> Generator[dict, None, None]:
        return _events(method, request, self._metadata, self._default_timeout if timeout is None else timeout)


def _pause(pause: Any) -> dict:
    """The pause in Dify's snake_case, like the rest of the dict."""
    return {
        "workflow_run_id": pause.workflow_run_id,
        "forms": [
            {
                "form_token": f.form_token,
                "node_id": f.node_id,
                "node_title": f.node_title,
                "form_content": f.form_content,
                "actions": [{"id": a.id, "title": a.title} for a in f.actions],
                "expiration_time": f.expiration_time,
            }
            for f in pause.forms
        ],
    }


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
