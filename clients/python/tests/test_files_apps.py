"""``client.files`` and ``client.apps`` against real gateway and simulator processes."""

from __future__ import annotations

import _thread
import io
import os
import re
import tempfile
import threading
import time
import unittest

import grpc

from typing import Any

from dify_app_client import AppClient, AppInvokeError

from .stack import Stack, eventually

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MIB = 1024 * 1024
# The New Agent demo app exists in Dify (the simulator) but is left out of the caller's workspace.
FOREIGN_MODE = "agent"

stack: Stack
client: AppClient
form_app: dict


def setUpModule() -> None:
    global stack, client, form_app
    stack = Stack(exclude_modes=(FOREIGN_MODE,))
    client = AppClient(stack.target, stack.token, timeout=60)
    form_app = next(app for app in stack.apps if app.get("form"))


def tearDownModule() -> None:
    client.close()
    stack.stop()


def uploads() -> list[dict]:
    return [r for r in stack.requests() if r["path"] == "/v1/files/upload"]


class UploadTest(unittest.TestCase):
    def setUp(self) -> None:
        stack.reset()

    def assert_uploaded(self, res: dict, name: str, size: int, extension: str, mime_type: str) -> None:
        self.assertRegex(res["id"], UUID)
        self.assertEqual((res["name"], res["size"], res["extension"], res["mime_type"]), (name, size, extension, mime_type))
        self.assertIsInstance(res["size"], int)

    def test_a_path_streams_in_chunks_with_its_name_size_and_guessed_mime_type(self) -> None:
        content = os.urandom(300 * 1024 + 17)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "report.pdf")
            with open(path, "wb") as f:
                f.write(content)
            res = client.files.upload(path, user="alice", app_id=stack.app_id("workflow"))
        self.assert_uploaded(res, "report.pdf", len(content), "pdf", "application/pdf")
        # Dify's own dict comes along (created_by, created_at, ...).
        self.assertIn("created_at", res)
        [sent] = uploads()
        self.assertEqual(
            sent["body"],
            {"user": "alice", "files": [{"field": "file", "filename": "report.pdf", "mime_type": "application/pdf", "size": len(content)}], "complete": True, "aborted": False},
        )

    def test_bytes_need_a_filename_and_take_the_workspace_default_user(self) -> None:
        with self.assertRaises(ValueError):
            client.files.upload(b"hello", app_id=stack.app_id("chat"))
        res = client.files.upload(b"hello", "notes.txt", app_id=stack.app_id("chat"))
        self.assert_uploaded(res, "notes.txt", 5, "txt", "text/plain")
        self.assertEqual(uploads()[0]["body"]["user"], "ws-default-user")

    def test_a_file_object_is_read_from_its_position_and_an_explicit_mime_type_wins(self) -> None:
        data = io.BytesIO(b"skip" + b"\x89PNG" + bytes(1000))
        data.seek(4)
        res = client.files.upload(data, "cover.png", "image/x-custom", app_id=stack.app_id("chat"))
        self.assert_uploaded(res, "cover.png", 1004, "png", "image/x-custom")

    def test_an_unseekable_stream_uploads_whole(self) -> None:
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "wb") as w:
            w.write(b"x" * 5000)
        with os.fdopen(read_end, "rb", buffering=0) as r:
            res = client.files.upload(r, "pipe.txt", app_id=stack.app_id("chat"))
        self.assert_uploaded(res, "pipe.txt", 5000, "txt", "text/plain")

    def test_the_uploaded_id_is_a_file_input_of_a_later_run(self) -> None:
        file = client.files.upload(b"\x89PNG\r\n", "cover.png", user="bob", app_id=form_app["appId"])
        inputs = {"topic": "t", "tone": "formal", "cover": {"type": "image", "transfer_method": "local_file", "upload_file_id": file["id"]}}
        res = client.app.workflow.invoke(form_app["appId"], inputs, user="bob")
        self.assertEqual(res["data"]["status"], "succeeded")

    def test_a_file_over_its_kinds_limit_is_refused_before_any_byte_is_sent(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "huge.png")
            with open(path, "wb") as f:
                f.truncate(10 * MIB + 1)  # Sparse: the declared size is what the gateway refuses.
            with self.assertRaises(AppInvokeError) as caught:
                client.files.upload(path, app_id=stack.app_id("chat"))
        err = caught.exception
        self.assertEqual(err.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(err.reason, "UPLOAD_TOO_LARGE")
        self.assertEqual(err.metadata, {"kind": "image", "maxBytes": str(10 * MIB)})
        self.assertEqual(uploads(), [])

    def test_another_workspaces_app_is_not_found_and_dify_hears_nothing(self) -> None:
        for app_id in (stack.app_id(FOREIGN_MODE), "no-such-app"):
            with self.assertRaises(AppInvokeError) as caught:
                client.files.upload(b"x", "a.txt", app_id=app_id)
            self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)
            self.assertEqual(caught.exception.reason, "APP_NOT_FOUND")
        self.assertEqual(uploads(), [])

    def test_a_bad_filename_is_invalid_argument_naming_the_field(self) -> None:
        with self.assertRaises(AppInvokeError) as caught:
            client.files.upload(b"x", "a/b.txt", app_id=stack.app_id("chat"))
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual([f for f, _ in caught.exception.field_violations], ["header.filename"])

    def test_a_source_that_fails_to_read_raises_its_own_error(self) -> None:
        class Broken(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def read(self, size: int = -1) -> bytes:
                raise OSError("disk on fire")

        with self.assertRaisesRegex(OSError, "disk on fire"):
            client.files.upload(Broken(), "x.txt", app_id=stack.app_id("chat"))

    def test_a_compressed_name_is_typed_by_its_last_extension_not_its_content(self) -> None:
        # mimetypes guesses ("application/x-tar", "gzip") for a.tar.gz: the bytes are gzip, not tar.
        res = client.files.upload(b"\x1f\x8b\x08\x00", "backup.tar.gz", app_id=stack.app_id("chat"))
        self.assertEqual(res["mime_type"], "application/gzip")
        self.assertEqual(uploads()[0]["body"]["files"][0]["mime_type"], "application/gzip")

    def test_ctrl_c_during_an_upload_cancels_it_and_stops_reading_the_source(self) -> None:
        reads: list[float] = []

        class Slow(io.RawIOBase):
            """1000 bytes a read, 20 reads a second, for ever."""

            def readable(self) -> bool:
                return True

            def readinto(self, b: Any) -> int:
                reads.append(time.monotonic())
                time.sleep(0.05)
                b[:1000] = b"y" * 1000
                return 1000

        timer = threading.Timer(0.5, _thread.interrupt_main)
        timer.start()
        try:
            with self.assertRaises(KeyboardInterrupt):
                client.files.upload(Slow(), "slow.txt", app_id=stack.app_id("chat"))
        finally:
            timer.cancel()
        interrupted = time.monotonic()
        time.sleep(1.0)
        # The call was cancelled, not left open until close(): the gateway aborted the upload to Dify.
        eventually(lambda: self.assertEqual([(u["body"]["complete"], u["body"]["aborted"]) for u in uploads()], [(False, True)]))
        # And grpc's thread reads no more of the source (at most the read it was in).
        self.assertLessEqual(len([t for t in reads if t > interrupted]), 1)

    def test_a_text_mode_file_is_refused(self) -> None:
        with self.assertRaises(TypeError):
            client.files.upload(io.StringIO("text"), "x.txt", app_id=stack.app_id("chat"))


class AppsTest(unittest.TestCase):
    def test_list_gives_the_workspaces_apps_only(self) -> None:
        apps = client.apps.list()
        expected = [{"app_id": a["appId"], "mode": a["mode"], "name": a["name"]} for a in stack.apps if a["mode"] != FOREIGN_MODE]
        self.assertEqual(apps, expected)

    def test_describe_gives_info_parameters_and_the_inputs_json_schema(self) -> None:
        res = client.apps.describe(form_app["appId"])
        self.assertEqual((res["app_id"], res["mode"]), (form_app["appId"], "workflow"))
        self.assertEqual(res["info"]["name"], form_app["name"])
        self.assertEqual(len(res["parameters"]["user_input_form"]), 7)
        schema = res["input_schema"]
        self.assertEqual(schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
        self.assertEqual(schema["required"], ["topic", "tone"])
        self.assertEqual(schema["properties"]["topic"]["maxLength"], 64)
        self.assertIsInstance(schema["properties"]["topic"]["maxLength"], int)
        self.assertEqual(schema["properties"]["tone"]["enum"], ["neutral", "friendly", "formal"])

    def test_describe_of_another_workspaces_app_is_not_found(self) -> None:
        for app_id in (stack.app_id(FOREIGN_MODE), "no-such-app"):
            with self.assertRaises(AppInvokeError) as caught:
                client.apps.describe(app_id)
            self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)
            self.assertEqual(caught.exception.reason, "APP_NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
