from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentThoughtEvent(_message.Message):
    __slots__ = ["conversation_id", "created_at", "id", "message_files", "message_id", "observation", "position", "task_id", "thought", "tool", "tool_input"]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FILES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    THOUGHT_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    TOOL_INPUT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    created_at: int
    id: str
    message_files: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    observation: str
    position: int
    task_id: str
    thought: str
    tool: str
    tool_input: str
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., message_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., position: _Optional[int] = ..., thought: _Optional[str] = ..., observation: _Optional[str] = ..., tool: _Optional[str] = ..., tool_input: _Optional[str] = ..., message_files: _Optional[_Iterable[str]] = ..., created_at: _Optional[int] = ...) -> None: ...

class ErrorEvent(_message.Message):
    __slots__ = ["code", "message", "status"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    status: int
    def __init__(self, status: _Optional[int] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class InputFile(_message.Message):
    __slots__ = ["transfer_method", "type", "upload_file_id", "url"]
    TRANSFER_METHOD_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    transfer_method: str
    type: str
    upload_file_id: str
    url: str
    def __init__(self, type: _Optional[str] = ..., transfer_method: _Optional[str] = ..., url: _Optional[str] = ..., upload_file_id: _Optional[str] = ...) -> None: ...

class MessageEndEvent(_message.Message):
    __slots__ = ["conversation_id", "message_id", "metadata", "task_id"]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    message_id: str
    metadata: MessageMetadata
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., message_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., metadata: _Optional[_Union[MessageMetadata, _Mapping]] = ...) -> None: ...

class MessageEvent(_message.Message):
    __slots__ = ["answer", "conversation_id", "created_at", "message_id", "task_id"]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    answer: str
    conversation_id: str
    created_at: int
    message_id: str
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., message_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., answer: _Optional[str] = ..., created_at: _Optional[int] = ...) -> None: ...

class MessageFileEvent(_message.Message):
    __slots__ = ["belongs_to", "conversation_id", "id", "type", "url"]
    BELONGS_TO_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    belongs_to: str
    conversation_id: str
    id: str
    type: str
    url: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., belongs_to: _Optional[str] = ..., url: _Optional[str] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class MessageMetadata(_message.Message):
    __slots__ = ["annotation_reply", "retriever_resources", "usage"]
    ANNOTATION_REPLY_FIELD_NUMBER: _ClassVar[int]
    RETRIEVER_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    annotation_reply: _struct_pb2.Struct
    retriever_resources: _containers.RepeatedCompositeFieldContainer[RetrieverResource]
    usage: Usage
    def __init__(self, usage: _Optional[_Union[Usage, _Mapping]] = ..., retriever_resources: _Optional[_Iterable[_Union[RetrieverResource, _Mapping]]] = ..., annotation_reply: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class MessageReplaceEvent(_message.Message):
    __slots__ = ["answer", "conversation_id", "message_id", "reason", "task_id"]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    answer: str
    conversation_id: str
    message_id: str
    reason: str
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., message_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., answer: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class NodeData(_message.Message):
    __slots__ = ["created_at", "elapsed_time", "error", "finished_at", "id", "index", "inputs", "node_id", "node_type", "outputs", "predecessor_node_id", "status", "title"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PREDECESSOR_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    created_at: int
    elapsed_time: float
    error: str
    finished_at: int
    id: str
    index: int
    inputs: _struct_pb2.Struct
    node_id: str
    node_type: str
    outputs: _struct_pb2.Struct
    predecessor_node_id: str
    status: str
    title: str
    def __init__(self, id: _Optional[str] = ..., node_id: _Optional[str] = ..., node_type: _Optional[str] = ..., title: _Optional[str] = ..., index: _Optional[int] = ..., predecessor_node_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., elapsed_time: _Optional[float] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ...) -> None: ...

class NodeEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: NodeData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[NodeData, _Mapping]] = ...) -> None: ...

class RetrieverResource(_message.Message):
    __slots__ = ["content", "data_source_type", "dataset_id", "dataset_name", "document_id", "document_name", "hit_count", "index_node_hash", "position", "score", "segment_id", "segment_position", "summary", "word_count"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    HIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    INDEX_NODE_HASH_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_POSITION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    WORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    content: str
    data_source_type: str
    dataset_id: str
    dataset_name: str
    document_id: str
    document_name: str
    hit_count: int
    index_node_hash: str
    position: int
    score: float
    segment_id: str
    segment_position: int
    summary: str
    word_count: int
    def __init__(self, position: _Optional[int] = ..., dataset_id: _Optional[str] = ..., dataset_name: _Optional[str] = ..., document_id: _Optional[str] = ..., document_name: _Optional[str] = ..., data_source_type: _Optional[str] = ..., segment_id: _Optional[str] = ..., score: _Optional[float] = ..., hit_count: _Optional[int] = ..., word_count: _Optional[int] = ..., segment_position: _Optional[int] = ..., index_node_hash: _Optional[str] = ..., content: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class TextChunkData(_message.Message):
    __slots__ = ["text"]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class TextChunkEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: TextChunkData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[TextChunkData, _Mapping]] = ...) -> None: ...

class TtsMessageEvent(_message.Message):
    __slots__ = ["audio", "created_at", "message_id", "task_id"]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    audio: str
    created_at: int
    message_id: str
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., message_id: _Optional[str] = ..., audio: _Optional[str] = ..., created_at: _Optional[int] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ["completion_price", "completion_price_unit", "completion_tokens", "completion_unit_price", "currency", "latency", "prompt_price", "prompt_price_unit", "prompt_tokens", "prompt_unit_price", "total_price", "total_tokens"]
    COMPLETION_PRICE_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_PRICE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_PRICE_UNIT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    completion_price: str
    completion_price_unit: str
    completion_tokens: int
    completion_unit_price: str
    currency: str
    latency: float
    prompt_price: str
    prompt_price_unit: str
    prompt_tokens: int
    prompt_unit_price: str
    total_price: str
    total_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., prompt_unit_price: _Optional[str] = ..., prompt_price_unit: _Optional[str] = ..., prompt_price: _Optional[str] = ..., completion_tokens: _Optional[int] = ..., completion_unit_price: _Optional[str] = ..., completion_price_unit: _Optional[str] = ..., completion_price: _Optional[str] = ..., total_tokens: _Optional[int] = ..., total_price: _Optional[str] = ..., currency: _Optional[str] = ..., latency: _Optional[float] = ...) -> None: ...

class WorkflowFinishedEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: WorkflowRunData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[WorkflowRunData, _Mapping]] = ...) -> None: ...

class WorkflowRunData(_message.Message):
    __slots__ = ["created_at", "elapsed_time", "error", "finished_at", "id", "outputs", "status", "total_steps", "total_tokens", "workflow_id"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    created_at: int
    elapsed_time: float
    error: str
    finished_at: int
    id: str
    outputs: _struct_pb2.Struct
    status: str
    total_steps: int
    total_tokens: int
    workflow_id: str
    def __init__(self, id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., status: _Optional[str] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[str] = ..., elapsed_time: _Optional[float] = ..., total_tokens: _Optional[int] = ..., total_steps: _Optional[int] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ...) -> None: ...

class WorkflowStartedData(_message.Message):
    __slots__ = ["created_at", "id", "inputs", "workflow_id"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    created_at: int
    id: str
    inputs: _struct_pb2.Struct
    workflow_id: str
    def __init__(self, id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[int] = ...) -> None: ...

class WorkflowStartedEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: WorkflowStartedData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[WorkflowStartedData, _Mapping]] = ...) -> None: ...
