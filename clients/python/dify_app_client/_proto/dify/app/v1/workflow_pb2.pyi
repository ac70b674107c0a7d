from . import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkflowInvokeRequest(_message.Message):
    __slots__ = ["app_id", "files", "inputs", "user", "workflow_id"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.InputFile]
    inputs: _struct_pb2.Struct
    user: str
    workflow_id: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., files: _Optional[_Iterable[_Union[_common_pb2.InputFile, _Mapping]]] = ..., user: _Optional[str] = ..., workflow_id: _Optional[str] = ...) -> None: ...

class WorkflowInvokeResponse(_message.Message):
    __slots__ = ["data", "pause", "raw", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PAUSE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: _common_pb2.WorkflowRunData
    pause: _common_pb2.RunPause
    raw: _struct_pb2.Struct
    task_id: str
    workflow_run_id: str
    def __init__(self, raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[_common_pb2.WorkflowRunData, _Mapping]] = ..., pause: _Optional[_Union[_common_pb2.RunPause, _Mapping]] = ...) -> None: ...

class WorkflowInvokeStreamRequest(_message.Message):
    __slots__ = ["app_id", "files", "inputs", "user", "workflow_id"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.InputFile]
    inputs: _struct_pb2.Struct
    user: str
    workflow_id: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., files: _Optional[_Iterable[_Union[_common_pb2.InputFile, _Mapping]]] = ..., user: _Optional[str] = ..., workflow_id: _Optional[str] = ...) -> None: ...

class WorkflowInvokeStreamResponse(_message.Message):
    __slots__ = ["agent_log", "error", "event", "human_input_form_filled", "human_input_form_timeout", "human_input_required", "iteration_completed", "iteration_next", "iteration_started", "loop_completed", "loop_next", "loop_started", "node_finished", "node_retry", "node_started", "raw", "reasoning_chunk", "text_chunk", "tts_message", "tts_message_end", "workflow_finished", "workflow_paused", "workflow_started"]
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
    def __init__(self, event: _Optional[str] = ..., raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., workflow_started: _Optional[_Union[_common_pb2.WorkflowStartedEvent, _Mapping]] = ..., node_started: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., node_finished: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., workflow_finished: _Optional[_Union[_common_pb2.WorkflowFinishedEvent, _Mapping]] = ..., workflow_paused: _Optional[_Union[_common_pb2.WorkflowFinishedEvent, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorEvent, _Mapping]] = ..., text_chunk: _Optional[_Union[_common_pb2.TextChunkEvent, _Mapping]] = ..., tts_message: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., tts_message_end: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., reasoning_chunk: _Optional[_Union[_common_pb2.ReasoningChunkEvent, _Mapping]] = ..., human_input_required: _Optional[_Union[_common_pb2.HumanInputRequiredEvent, _Mapping]] = ..., human_input_form_filled: _Optional[_Union[_common_pb2.HumanInputFormFilledEvent, _Mapping]] = ..., human_input_form_timeout: _Optional[_Union[_common_pb2.HumanInputFormTimeoutEvent, _Mapping]] = ..., node_retry: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., iteration_started: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., iteration_next: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., iteration_completed: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., loop_started: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., loop_next: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., loop_completed: _Optional[_Union[_common_pb2.IterationEvent, _Mapping]] = ..., agent_log: _Optional[_Union[_common_pb2.AgentLogEvent, _Mapping]] = ...) -> None: ...
