from . import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompletionInvokeRequest(_message.Message):
    __slots__ = ["app_id", "files", "inputs", "user"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.InputFile]
    inputs: _struct_pb2.Struct
    user: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., files: _Optional[_Iterable[_Union[_common_pb2.InputFile, _Mapping]]] = ..., user: _Optional[str] = ...) -> None: ...

class CompletionInvokeResponse(_message.Message):
    __slots__ = ["answer", "created_at", "message_id", "metadata", "mode", "raw", "reasoning", "task_id"]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    answer: str
    created_at: int
    message_id: str
    metadata: _common_pb2.MessageMetadata
    mode: str
    raw: _struct_pb2.Struct
    reasoning: str
    task_id: str
    def __init__(self, raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., answer: _Optional[str] = ..., message_id: _Optional[str] = ..., task_id: _Optional[str] = ..., mode: _Optional[str] = ..., created_at: _Optional[int] = ..., metadata: _Optional[_Union[_common_pb2.MessageMetadata, _Mapping]] = ..., reasoning: _Optional[str] = ...) -> None: ...

class CompletionInvokeStreamRequest(_message.Message):
    __slots__ = ["app_id", "files", "inputs", "user"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.InputFile]
    inputs: _struct_pb2.Struct
    user: str
    def __init__(self, app_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., files: _Optional[_Iterable[_Union[_common_pb2.InputFile, _Mapping]]] = ..., user: _Optional[str] = ...) -> None: ...

class CompletionInvokeStreamResponse(_message.Message):
    __slots__ = ["error", "event", "message", "message_end", "message_file", "message_replace", "raw", "reasoning_chunk", "tts_message", "tts_message_end"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_END_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FILE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_REPLACE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    REASONING_CHUNK_FIELD_NUMBER: _ClassVar[int]
    TTS_MESSAGE_END_FIELD_NUMBER: _ClassVar[int]
    TTS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    error: _common_pb2.ErrorEvent
    event: str
    message: _common_pb2.MessageEvent
    message_end: _common_pb2.MessageEndEvent
    message_file: _common_pb2.MessageFileEvent
    message_replace: _common_pb2.MessageReplaceEvent
    raw: _struct_pb2.Struct
    reasoning_chunk: _common_pb2.ReasoningChunkEvent
    tts_message: _common_pb2.TtsMessageEvent
    tts_message_end: _common_pb2.TtsMessageEvent
    def __init__(self, event: _Optional[str] = ..., raw: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.MessageEvent, _Mapping]] = ..., message_file: _Optional[_Union[_common_pb2.MessageFileEvent, _Mapping]] = ..., message_replace: _Optional[_Union[_common_pb2.MessageReplaceEvent, _Mapping]] = ..., message_end: _Optional[_Union[_common_pb2.MessageEndEvent, _Mapping]] = ..., tts_message: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., tts_message_end: _Optional[_Union[_common_pb2.TtsMessageEvent, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorEvent, _Mapping]] = ..., reasoning_chunk: _Optional[_Union[_common_pb2.ReasoningChunkEvent, _Mapping]] = ...) -> None: ...
