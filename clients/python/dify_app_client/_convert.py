"""Plain Python values to and from the protobuf messages of the contract."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from google.protobuf import struct_pb2

from ._proto.dify.app.v1 import common_pb2

# Struct carries every JSON number as a double. Dify's dicts hold integers (created_at, tokens,
# positions), and json.loads would give int for them; so do we, for doubles that are exact integers
# within the range a double represents exactly. 1.0 thus reads as 1, which compares equal anyway.
_MAX_EXACT = 2**53


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: _value(value) for key, value in struct.fields.items()}


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values]
    if kind == "number_value":
        n = value.number_value
        return int(n) if n.is_integer() and -_MAX_EXACT <= n <= _MAX_EXACT else n
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or a Value with nothing set


def dict_to_struct(inputs: Optional[Mapping[str, Any]]) -> struct_pb2.Struct:
    """The request's `inputs`: a JSON object (str keys; None, bool, numbers, str, lists, dicts)."""
    struct = struct_pb2.Struct()
    if inputs is None:
        return struct
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict, not {type(inputs).__name__}")
    try:
        struct.update(inputs)
    except (ValueError, TypeError, AttributeError) as err:
        raise TypeError(f"inputs must hold JSON values only: {err}") from None
    return struct


_FILE_KEYS = ("type", "transfer_method", "url", "upload_file_id")


def input_files(files: Optional[Iterable[Any]]) -> list[common_pb2.InputFile]:
    """Dify's file dicts (`type`, `transfer_method`, `url` | `upload_file_id`), as the App API takes them."""
    result = []
    for i, file in enumerate(files or ()):
        if isinstance(file, common_pb2.InputFile):
            result.append(file)
            continue
        if not isinstance(file, Mapping):
            raise TypeError(f"files[{i}] must be a dict, not {type(file).__name__}")
        unknown = sorted(set(file) - set(_FILE_KEYS))
        if unknown:
            # Dropping them silently would send a different file than the caller meant.
            raise ValueError(f"files[{i}] has unknown keys {unknown}; expected some of {list(_FILE_KEYS)}")
        result.append(common_pb2.InputFile(**{k: file[k] for k in _FILE_KEYS if file.get(k) is not None}))
    return result
