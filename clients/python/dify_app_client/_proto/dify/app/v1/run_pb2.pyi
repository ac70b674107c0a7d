from . import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetHumanInputFormRequest(_message.Message):
    __slots__ = ["app_id", "form_token"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FORM_TOKEN_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    form_token: str
    def __init__(self, app_id: _Optional[str] = ..., form_token: _Optional[str] = ...) -> None: ...

class GetHumanInputFormResponse(_message.Message):
    __slots__ = ["expiration_time", "form_content", "raw", "user_actions"]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    FORM_CONTENT_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    USER_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    expiration_time: int
    form_content: str
    raw: _struct_pb2.Struct
    user_actions: _containers.RepeatedCompositeFieldContainer[_common_pb2.HumanInputAction]
    def __init__(self, raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., form_content: _Optional[str] = ..., user_actions: _Optional[_Iterable[_Union[_common_pb2.HumanInputAction, _Mapping]]] = ..., expiration_time: _Optional[int] = ...) -> None: ...

class GetWorkflowRunRequest(_message.Message):
    __slots__ = ["app_id", "workflow_run_id"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    workflow_run_id: str
    def __init__(self, app_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ...) -> None: ...

class GetWorkflowRunResponse(_message.Message):
    __slots__ = ["created_at", "elapsed_time", "error", "finished_at", "id", "inputs", "outputs", "raw", "status", "total_steps", "total_tokens", "workflow_id"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    created_at: int
    elapsed_time: float
    error: str
    finished_at: int
    id: str
    inputs: str
    outputs: _struct_pb2.Struct
    raw: _struct_pb2.Struct
    status: str
    total_steps: int
    total_tokens: int
    workflow_id: str
    def __init__(self, raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., status: _Optional[str] = ..., inputs: _Optional[str] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[str] = ..., total_steps: _Optional[int] = ..., total_tokens: _Optional[int] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., elapsed_time: _Optional[float] = ...) -> None: ...

class SubmitHumanInputFormRequest(_message.Message):
    __slots__ = ["action", "app_id", "form_token", "inputs", "user"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FORM_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    action: str
    app_id: str
    form_token: str
    inputs: _struct_pb2.Struct
    user: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., form_token: _Optional[str] = ..., action: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class SubmitHumanInputFormResponse(_message.Message):
    __slots__ = ["raw"]
    RAW_FIELD_NUMBER: _ClassVar[int]
    raw: _struct_pb2.Struct
    def __init__(self, raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ["app_id", "continue_on_pause", "include_state_snapshot", "user", "workflow_run_id"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_ON_PAUSE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_STATE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    continue_on_pause: bool
    include_state_snapshot: bool
    user: str
    workflow_run_id: str
    def __init__(self, app_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., user: _Optional[str] = ..., include_state_snapshot: bool = ..., continue_on_pause: bool = ...) -> None: ...

class WatchRunResponse(_message.Message):
    __slots__ = ["agent_log", "error", "event", "human_input_form_filled", "human_input_form_timeout", "human_input_required", "iteration_completed", "iteration_next", "iteration_started", "loop_completed", "loop_next", "loop_started", "message", "message_end", "node_finished", "node_retry", "node_started", "raw", "reasoning_chunk", "text_chunk", "tts_message", "tts_message_end", "workflow_finished", "workflow_paused", "workflow_started"]
    AGENT_LOG_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    HUMAN_INPUT_FORM_FILLED_FIELD_NUMBER: _ClassVar[int]
    HUMAN_INPUT_FORM_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    HUMAN_INPUT_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    ITERATION_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    ITERATION_NEXT_FIELD_NUMBER: _ClassVar[int]
    ITERATION_STARTED_FIELD_NUMBER: _ClassVar[int]
    LOOP_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    LOOP_NEXT_FIELD_NUMBER: _ClassVar[int]
    LOOP_STARTED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_END_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    NODE_RETRY_FIELD_NUMBER: _ClassVar[int]
    NODE_STARTED_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    REASONING_CHUNK_FIELD_NUMBER: _ClassVar[int]
    TEXT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    TTS_MESSAGE_END_FIELD_NUMBER: _ClassVar[int]
    TTS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FINISHED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_PAUSED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_STARTED_FIELD_NUMBER: _ClassVar[int]
    agent_log: _common_pb2.AgentLogEvent
    error: _common_pb2.ErrorEvent
    event: str
    human_input_form_filled: _common_pb2.HumanInputFormFilledEvent
    human_input_form_timeout: _common_pb2.HumanInputFormTimeoutEvent
    human_input_required: _common_pb2.HumanInputRequiredEvent
    iteration_completed: _common_pb2.IterationEvent
    iteration_next: _common_pb2.IterationEvent
    iteration_started: _common_pb2.IterationEvent
    loop_completed: _common_pb2.IterationEvent
    loop_next: _common_pb2.IterationEvent
    loop_started: _common_pb2.IterationEvent
    message: _common_pb2.MessageEvent
    message_end: _common_pb2.MessageEndEvent
    node_finished: _common_pb2.NodeEvent
    node_retry: _common_pb2.NodeEvent
    node_started: _common_pb2.NodeEvent
    raw: _struct_pb2.Struct
    reasoning_chunk: _common_pb2.ReasoningChunkEvent
    text_chunk: _common_pb2.TextChunkEvent
    tts_message: _common_pb2.TtsMessageEvent
    tts_message_end: _common_pb2.TtsMessageEvent
    workflow_finished: _common_pb2.WorkflowFinishedEvent
    workflow_paused: _common_pb2.WorkflowFinishedEvent
    workflow_started: _common_pb2.WorkflowStartedEvent
    def __init__(self, event: _Optional[str] = ..., raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.MessageEvent, _Mapping]] = ..., message_end: _Optional[_Union[_common_pb2.MessageEndEvent, _Mapping]] = ..., tts_message: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., tts_message_end: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., workflow_started: _Optional[_Union[_common_pb2.WorkflowStartedEvent, _Mapping]] = ..., node_started: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., node_finished: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., workflow_finished: _Optional[_Union[_common_pb2.WorkflowFinishedEvent, _Mapping]] = ..., workflow_paused: _Optional[_Union[_common_pb2.WorkflowFinishedEvent, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorEvent, _Mapping]] = ..., text_chunk: _Optional[_Union[_common_pb2.TextChunkEvent, _Mapping]] = ..., reasoning_chunk: _Optional[_Union[_common_pb2.ReasoningChunkEvent, _Mapping]] = ..., human_input_required: _Optional[_Union[_common_pb2.HumanInputRequiredEvent, _Mapping]] = ..., human_input_form_filled: _Optional[_Union[_common_pb2.HumanInputFormFilledEvent, _Mapping]] = ..., human_input_form_timeout: _Optional[_Union[_common_pb2.HumanInputFormTimeoutEvent, _Mapping]] = ..., node_retry: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., iteration_started: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., iteration_next: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., iteration_completed: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., loop_started: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., loop_next: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., loop_completed: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., agent_log: _Optional[_Union[_common_pb2.AgentLogEvent, _Mapping]] = ...) -> None: ...
