from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppSummary(_message.Message):
    __slots__ = ["app_id", "mode", "name"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    mode: str
    name: str
    def __init__(self, app_id: _Optional[str] = ..., mode: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DescribeAppRequest(_message.Message):
    __slots__ = ["app_id"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    def __init__(self, app_id: _Optional[str] = ...) -> None: ...

class DescribeAppResponse(_message.Message):
    __slots__ = ["app_id", "info", "input_schema", "mode", "parameters"]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    info: _struct_pb2.Struct
    input_schema: _struct_pb2.Struct
    mode: str
    parameters: _struct_pb2.Struct
    def __init__(self, app_id: _Optional[str] = ..., mode: _Optional[str] = ..., info: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., input_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListAppsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListAppsResponse(_message.Message):
    __slots__ = ["apps"]
    APPS_FIELD_NUMBER: _ClassVar[int]
    apps: _containers.RepeatedCompositeFieldContainer[AppSummary]
    def __init__(self, apps: _Optional[_Iterable[_Union[AppSummary, _Mapping]]] = ...) -> None: ...
