from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentLogData(_message.Message):
    __slots__ = ["data", "error", "id", "label", "metadata", "node_execution_id", "node_id", "parent_id", "status"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NODE_EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    error: str
    id: str
    label: str
    metadata: _struct_pb2.Struct
    node_execution_id: str
    node_id: str
    parent_id: str
    status: str
    def __init__(self, node_execution_id: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ..., parent_id: _Optional[str] = ..., error: _Optional[str] = ..., status: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., node_id: _Optional[str] = ...) -> None: ...

class AgentLogEvent(_message.Message):
    __slots__ = ["data", "task_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    data: AgentLogData
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., data: _Optional[_Union[AgentLogData, _Mapping]] = ...) -> None: ...

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

class HumanInputAction(_message.Message):
    __slots__ = ["button_style", "id", "title"]
    BUTTON_STYLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    button_style: str
    id: str
    title: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., button_style: _Optional[str] = ...) -> None: ...

class HumanInputForm(_message.Message):
    __slots__ = ["actions", "expiration_time", "form_content", "form_token", "node_id", "node_title"]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    FORM_CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORM_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TITLE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[HumanInputAction]
    expiration_time: int
    form_content: str
    form_token: str
    node_id: str
    node_title: str
    def __init__(self, form_token: _Optional[str] = ..., node_id: _Optional[str] = ..., node_title: _Optional[str] = ..., form_content: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[HumanInputAction, _Mapping]]] = ..., expiration_time: _Optional[int] = ...) -> None: ...

class HumanInputFormFilledData(_message.Message):
    __slots__ = ["action_id", "action_text", "node_id", "node_title", "rendered_content", "submitted_data"]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_TEXT_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TITLE_FIELD_NUMBER: _ClassVar[int]
    RENDERED_CONTENT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_DATA_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    action_text: str
    node_id: str
    node_title: str
    rendered_content: str
    submitted_data: _struct_pb2.Struct
    def __init__(self, node_id: _Optional[str] = ..., node_title: _Optional[str] = ..., rendered_content: _Optional[str] = ..., action_id: _Optional[str] = ..., action_text: _Optional[str] = ..., submitted_data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class HumanInputFormFilledEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: HumanInputFormFilledData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[HumanInputFormFilledData, _Mapping]] = ...) -> None: ...

class HumanInputFormTimeoutData(_message.Message):
    __slots__ = ["expiration_time", "node_id", "node_title"]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TITLE_FIELD_NUMBER: _ClassVar[int]
    expiration_time: int
    node_id: str
    node_title: str
    def __init__(self, node_id: _Optional[str] = ..., node_title: _Optional[str] = ..., expiration_time: _Optional[int] = ...) -> None: ...

class HumanInputFormTimeoutEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: HumanInputFormTimeoutData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[HumanInputFormTimeoutData, _Mapping]] = ...) -> None: ...

class HumanInputRequiredData(_message.Message):
    __slots__ = ["actions", "display_in_ui", "expiration_time", "form_content", "form_id", "form_token", "node_id", "node_title"]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_IN_UI_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    FORM_CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORM_ID_FIELD_NUMBER: _ClassVar[int]
    FORM_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TITLE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[HumanInputAction]
    display_in_ui: bool
    expiration_time: int
    form_content: str
    form_id: str
    form_token: str
    node_id: str
    node_title: str
    def __init__(self, form_id: _Optional[str] = ..., node_id: _Optional[str] = ..., node_title: _Optional[str] = ..., form_content: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[HumanInputAction, _Mapping]]] = ..., display_in_ui: bool = ..., form_token: _Optional[str] = ..., expiration_time: _Optional[int] = ...) -> None: ...

class HumanInputRequiredEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: HumanInputRequiredData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[HumanInputRequiredData, _Mapping]] = ...) -> None: ...

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

class IterationData(_message.Message):
    __slots__ = ["created_at", "elapsed_time", "error", "finished_at", "id", "index", "inputs", "node_id", "node_type", "outputs", "status", "steps", "title", "total_tokens"]
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
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
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
    status: str
    steps: int
    title: str
    total_tokens: int
    def __init__(self, id: _Optional[str] = ..., node_id: _Optional[str] = ..., node_type: _Optional[str] = ..., title: _Optional[str] = ..., index: _Optional[int] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., elapsed_time: _Optional[float] = ..., total_tokens: _Optional[int] = ..., steps: _Optional[int] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ...) -> None: ...

class IterationEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: IterationData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[IterationData, _Mapping]] = ...) -> None: ...

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
    __slots__ = ["created_at", "elapsed_time", "error", "finished_at", "id", "index", "inputs", "node_id", "node_type", "outputs", "predecessor_node_id", "retry_index", "status", "title"]
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
    RETRY_INDEX_FIELD_NUMBER: _ClassVar[int]
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
    retry_index: int
    status: str
    title: str
    def __init__(self, id: _Optional[str] = ..., node_id: _Optional[str] = ..., node_type: _Optional[str] = ..., title: _Optional[str] = ..., index: _Optional[int] = ..., predecessor_node_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., elapsed_time: _Optional[float] = ..., created_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., retry_index: _Optional[int] = ...) -> None: ...

class NodeEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: NodeData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[NodeData, _Mapping]] = ...) -> None: ...

class ReasoningChunkData(_message.Message):
    __slots__ = ["is_final", "message_id", "node_id", "reasoning"]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    is_final: bool
    message_id: str
    node_id: str
    reasoning: str
    def __init__(self, reasoning: _Optional[str] = ..., node_id: _Optional[str] = ..., is_final: bool = ..., message_id: _Optional[str] = ...) -> None: ...

class ReasoningChunkEvent(_message.Message):
    __slots__ = ["data", "task_id", "workflow_run_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    data: ReasoningChunkData
    task_id: str
    workflow_run_id: str
    def __init__(self, task_id: _Optional[str] = ..., workflow_run_id: _Optional[str] = ..., data: _Optional[_Union[ReasoningChunkData, _Mapping]] = ...) -> None: ...

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

class RunPause(_message.Message):
    __slots__ = ["forms", "workflow_run_id"]
    FORMS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    forms: _containers.RepeatedCompositeFieldContainer[HumanInputForm]
    workflow_run_id: str
    def __init__(self, workflow_run_id: _Optional[str] = ..., forms: _Optional[_Iterable[_Union[HumanInputForm, _Mapping]]] = ...) -> None: ...

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
