"""``client.files``: uploads a file to Dify for an app (FileService.UploadFile), so that later runs can reference
it as ``{"type": ..., "transfer_method": "local_file", "upload_file_id": id}``."""

from __future__ import annotations

import io
import mimetypes
import os
import threading
from typing import IO, Any, Iterator, Optional, Union

import grpc

from ._convert import struct_to_dict
from ._errors import AppInvokeError
from ._proto.dify.app.v1 import file_pb2, file_pb2_grpc

# 64 KiB: small next to the gateway's message limit, large enough that per-message overhead does not matter.
CHUNK_SIZE = 64 * 1024

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


class Files:
    """``client.files``. Shares the client's channel, token and default deadline."""

    def __init__(self, channel: grpc.Channel, calls: Any) -> None:
        self._stub = file_pb2_grpc.FileServiceStub(channel)
        self._calls = calls

    def upload(
        self,
        source: Source,
        filename: Optional[str] = None,
        mime_type: Optional[str] = None,
        user: str = "",
        *,
        app_id: str,
        timeout: Optional[float] = None,
    ) -> dict:
        """Streams ``source`` (a path, bytes, or a binary file object) to Dify in 64 KiB chunks and returns
        Dify's upload dict: ``id`` (the ``upload_file_id``), ``name``, ``size``, ``extension``, ``mime_type``,
        and whatever else Dify returned.

        ``filename`` defaults to the path's (or the file object's) base name and is required for bytes; Dify
        types the file by its extension. ``mime_type`` defaults to a guess from the extension (``mimetypes``); for a
        compressed name (``a.tar.gz``) it is left empty, and the gateway types the file by its last extension.
        ``user`` is Dify's end-user id the file belongs to (empty: the workspace's default user); runs that
        reference the file should use the same. The file's size is declared when known (a path, bytes, a
        seekable file object), so that a file over the gateway's limit is refused before any byte is sent.
        Raises ``AppInvokeError`` (e.g. ``RESOURCE_EXHAUSTED``, reason ``UPLOAD_TOO_LARGE``)."""
        if not app_id:
            raise ValueError("app_id is required")
        opened: Optional[IO[bytes]] = None
        if isinstance(source, (str, os.PathLike)):
            opened = open(source, "rb")  # noqa: SIM115 (closed below, after the call)
            stream: IO[bytes] = opened
            filename = filename or os.path.basename(os.fspath(source))
        elif isinstance(source, (bytes, bytearray, memoryview)):
            if not filename:
                raise ValueError("filename is required when uploading bytes")
            stream = io.BytesIO(source)
        elif hasattr(source, "read"):
            stream = source
            name = getattr(source, "name", None)
            filename = filename or (os.path.basename(name) if isinstance(name, str) else None)
            if not filename:
                raise ValueError("filename is required for a file object without a name")
        else:
            raise TypeError(f"source must be a path, bytes or a binary file object, not {type(source).__name__}")
        if mime_type is None:
            mime_type = _guess_mime_type(filename)
        header = file_pb2.UploadFileHeader(app_id=app_id, user=user or "", filename=filename, mime_type=mime_type)
        size = _remaining_size(stream)
        if size is not None:
            header.size = size
        requests = _Requests(header, stream)
        timeout = self._calls.timeout(timeout)
        try:
            # A future rather than a blocking call: when the wait ends another way (Ctrl-C, any exception
            # raised in this thread), the call is cancelled instead of running on with grpc's thread
            # reading the source in the background.
            call = self._stub.UploadFile.future(iter(requests), metadata=self._calls._metadata, timeout=timeout)
            try:
                response = call.result()
            except BaseException:
                call.cancel()
                raise
        except grpc.RpcError as err:
            # grpc reports a failure to read the source as a cancelled call: raise what actually happened.
            if requests.error is not None:
                raise requests.error from None
            raise AppInvokeError.from_rpc_error(err) from None
        finally:
            # However the call ended, grpc's thread asks for no more than one more message: it gets none.
            requests.stop()
            if opened is not None:
                opened.close()
        result = struct_to_dict(response.raw)
        result.update(id=response.id, name=response.name, size=response.size, extension=response.extension, mime_type=response.mime_type)
        return result


class _Requests:
    """The header, then the file in chunks, read only as grpc asks for the next message: grpc pulls the next one
    after the previous was written, so no more than a chunk or two of the file is in memory at a time."""

    def __init__(self, header: file_pb2.UploadFileHeader, stream: IO[bytes]) -> None:
        self._header = header
        self._stream = stream
        self._stopped = threading.Event()
        self.error: Optional[BaseException] = None

    def stop(self) -> None:
        """The call has ended: read nothing more of the source (it may be closed next)."""
        self._stopped.set()

    def __iter__(self) -> Iterator[file_pb2.UploadFileRequest]:
        yield file_pb2.UploadFileRequest(header=self._header)
        while not self._stopped.is_set():
            try:
                chunk = self._stream.read(CHUNK_SIZE)
            except BaseException as err:
                self.error = err
                raise
            if not chunk:
                return
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                self.error = TypeError(f"the file object must be opened in binary mode (read() gave {type(chunk).__name__})")
                raise self.error
            yield file_pb2.UploadFileRequest(chunk=bytes(chunk))


def _guess_mime_type(filename: str) -> str:
    """The type ``mimetypes`` guesses from the extension, or "" to let the gateway derive it. A compressed name
    (``a.tar.gz``) guesses the content's type with an encoding (``application/x-tar``, ``gzip``), while the bytes
    sent are the compressed file: send "" then, and the gateway types it by its last extension
    (``application/gzip``)."""
    guessed, encoding = mimetypes.guess_type(filename)
    return (guessed or "") if encoding is None else ""


def _remaining_size(stream: IO[bytes]) -> Optional[int]:
    """The bytes left from the current position, for a seekable stream; None when it cannot tell (a pipe)."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return max(0, end - here)
    except (AttributeError, OSError, ValueError):
        return None
