from . import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatInvokeRequest(_message.Message):
    __slots__ = ["app_id", "conversation_id", "files", "inputs", "query", "user"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    conversation_id: str
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.InputFile]
    inputs: _struct_pb2.Struct
    query: str
    user: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., query: _Optional[str] = ..., conversation_id: _Optional[str] = ..., files: _Optional[_Iterable[_Union[_common_pb2.InputFile, _Mapping]]] = ..., user: _Optional[str] = ...) -> None: ...

class ChatInvokeResponse(_message.Message):
    __slots__ = ["answer", "conversation_id", "created_at", "message_id", "metadata", "mode", "raw", "task_id"]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    answer: str
    conversation_id: str
    created_at: int
    message_id: str
    metadata: _common_pb2.MessageMetadata
    mode: str
    raw: _struct_pb2.Struct
    task_id: str
    def __init__(self, raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., answer: _Optional[str] = ..., conversation_id: _Optional[str] = ..., message_id: _Optional[str] = ..., task_id: _Optional[str] = ..., mode: _Optional[str] = ..., created_at: _Optional[int] = ..., metadata: _Optional[_Union[_common_pb2.MessageMetadata, _Mapping]] = ...) -> None: ...

class ChatInvokeStreamRequest(_message.Message):
    __slots__ = ["app_id", "conversation_id", "files", "inputs", "query", "user"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    conversation_id: str
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.InputFile]
    inputs: _struct_pb2.Struct
    query: str
    user: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., query: _Optional[str] = ..., conversation_id: _Optional[str] = ..., files: _Optional[_Iterable[_Union[_common_pb2.InputFile, _Mapping]]] = ..., user: _Optional[str] = ...) -> None: ...

class ChatInvokeStreamResponse(_message.Message):
    __slots__ = ["agent_message", "agent_thought", "error", "event", "message", "message_end", "message_file", "message_replace", "node_finished", "node_started", "raw", "tts_message", "tts_message_end", "workflow_finished", "workflow_paused", "workflow_started"]
    AGENT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AGENT_THOUGHT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_END_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FILE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_REPLACE_FIELD_NUMBER: _ClassVar[int]
    NODE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    NODE_STARTED_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    TTS_MESSAGE_END_FIELD_NUMBER: _ClassVar[int]
    TTS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FINISHED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_PAUSED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_STARTED_FIELD_NUMBER: _ClassVar[int]
    agent_message: _common_pb2.MessageEvent
    agent_thought: _common_pb2.AgentThoughtEvent
    error: _common_pb2.ErrorEvent
    event: str
    message: _common_pb2.MessageEvent
    message_end: _common_pb2.MessageEndEvent
    message_file: _common_pb2.MessageFileEvent
    message_replace: _common_pb2.MessageReplaceEvent
    node_finished: _common_pb2.NodeEvent
    node_started: _common_pb2.NodeEvent
    raw: _struct_pb2.Struct
    tts_message: _common_pb2.TtsMessageEvent
    tts_message_end: _common_pb2.TtsMessageEvent
    workflow_finished: _common_pb2.WorkflowFinishedEvent
    workflow_paused: _common_pb2.WorkflowFinishedEvent
    workflow_started: _common_pb2.WorkflowStartedEvent
    def __init__(self, event: _Optional[str] = ..., raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.MessageEvent, _Mapping]] = ..., agent_message: _Optional[_Union[_common_pb2.MessageEvent, _Mapping]] = ..., agent_thought: _Optional[_Union[_common_pb2.AgentThoughtEvent, _Mapping]] = ..., message_file: _Optional[_Union[_common_pb2.MessageFileEvent, _Mapping]] = ..., message_replace: _Optional[_Union[_common_pb2.MessageReplaceEvent, _Mapping]] = ..., message_end: _Optional[_Union[_common_pb2.MessageEndEvent, _Mapping]] = ..., tts_message: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., tts_message_end: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., workflow_started: _Optional[_Union[_common_pb2.WorkflowStartedEvent, _Mapping]] = ..., node_started: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., node_finished: _Optional[_Union[_common_pb2.NodeEvent, _Mapping]] = ..., workflow_finished: _Optional[_Union[_common_pb2.WorkflowFinishedEvent, _Mapping]] = ..., workflow_paused: _Optional[_Union[_common_pb2.WorkflowFinishedEvent, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorEvent, _Mapping]] = ...) -> None: ...
