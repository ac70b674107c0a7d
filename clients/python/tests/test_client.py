"""The Python client against real gateway and simulator processes.

    npm run test:python        # builds dist/, then runs every file here
"""

from __future__ import annotations

import re
import time
import unittest
import uuid

import grpc

from dify_app_client import AppClient, AppInvokeError

from .stack import Stack, eventually

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Keeps a run going long after the test closed its stream (simulator directive, see its README).
SLOW = {"_sim": {"events": 200, "delay_ms": 20}}
# The New Agent demo app exists in Dify (the simulator) but is left out of the caller's workspace.
FOREIGN_MODE = "agent"

stack: Stack
client: AppClient


def setUpModule() -> None:
    global stack, client
    stack = Stack(simulator_args=("--token-delay-ms", "5"), exclude_modes=(FOREIGN_MODE,))
    client = AppClient(stack.target, stack.token)


def tearDownModule() -> None:
    client.close()
    stack.stop()


def echo(app_name: str, prompt: str) -> str:
    """The simulator's deterministic answer (its README)."""
    return f"Echo from {app_name}: {prompt}"


def joined(events: list[dict], name: str, key: str = "answer") -> str:
    return "".join(e[key] for e in events if e["event"] == name)


class ChatTest(unittest.TestCase):
    def test_blocking_returns_difys_blocking_dict(self) -> None:
        res = client.app.chat.invoke(stack.app_id("chat"), "What is gRPC?", {}, "blocking", user="alice")
        self.assertIsInstance(res, dict)
        self.assertEqual(res["event"], "message")
        self.assertEqual(res["mode"], "chat")
        self.assertTrue(res["answer"].startswith(echo("Demo Chatbot", "What is gRPC?")), res["answer"])
        for key in ("conversation_id", "message_id", "task_id", "id"):
            self.assertRegex(res[key], UUID)
        # Struct numbers are doubles on the wire; Dify's integers come back as int.
        self.assertIsInstance(res["created_at"], int)
        self.assertIsInstance(res["metadata"]["usage"]["total_tokens"], int)
        self.assertGreater(res["metadata"]["usage"]["total_tokens"], 0)

    def test_streaming_yields_each_event_dict_in_order(self) -> None:
        events = client.app.chat.invoke(stack.app_id("chat"), "What is gRPC?", {}, "streaming", user="alice")
        self.assertNotIsInstance(events, dict)
        events = list(events)
        self.assertTrue(all(isinstance(e, dict) for e in events))
        self.assertGreater(sum(e["event"] == "message" for e in events), 1)
        self.assertEqual(events[-1]["event"], "message_end")
        self.assertTrue(joined(events, "message").startswith(echo("Demo Chatbot", "What is gRPC?")))
        self.assertEqual({e["task_id"] for e in events}, {events[-1]["task_id"]})

    def test_streaming_is_the_default_mode_as_in_dify_plugin(self) -> None:
        events = list(client.app.chat.invoke(stack.app_id("chat"), "Hi"))
        self.assertEqual(events[-1]["event"], "message_end")

    def test_chatflow_streams_its_workflow_events_and_ends_at_workflow_finished(self) -> None:
        events = list(client.app.chat.invoke(stack.app_id("advanced-chat"), "Hello", response_mode="streaming"))
        names = [e["event"] for e in events]
        self.assertEqual(names[0], "workflow_started")
        self.assertIn("node_finished", names)
        self.assertEqual(names[-2:], ["message_end", "workflow_finished"])
        self.assertEqual(events[-1]["data"]["status"], "succeeded")

    def test_conversation_continues_with_conversation_id(self) -> None:
        first = client.app.chat.invoke(stack.app_id("chat"), "Hi", {}, "blocking", user="bob")
        second = client.app.chat.invoke(stack.app_id("chat"), "Again", {}, "blocking", conversation_id=first["conversation_id"], user="bob")
        self.assertEqual(second["conversation_id"], first["conversation_id"])
        self.assertNotEqual(second["message_id"], first["message_id"])
        self.assertIn("(turn 2)", second["answer"])
        # Streaming continues it too.
        third = list(client.app.chat.invoke(stack.app_id("chat"), "More", {}, "streaming", first["conversation_id"], user="bob"))
        self.assertEqual(third[-1]["conversation_id"], first["conversation_id"])
        self.assertIn("(turn 3)", joined(third, "message"))

    def test_agent_chat_in_blocking_mode_which_difys_blocking_mode_rejects(self) -> None:
        res = client.app.chat.invoke(stack.app_id("agent-chat"), "Plan a trip", {}, "blocking")
        self.assertEqual(res["mode"], "agent-chat")
        streamed = list(client.app.chat.invoke(stack.app_id("agent-chat"), "Plan a trip", {}, "streaming"))
        self.assertIn("agent_thought", [e["event"] for e in streamed])
        self.assertEqual(res["answer"], joined(streamed, "agent_message"))
        self.assertTrue(res["answer"].startswith(echo("Demo Agent", "Plan a trip")))

    def test_inputs_files_and_user_reach_dify_as_given(self) -> None:
        stack.reset()
        files = [{"type": "image", "transfer_method": "remote_url", "url": "https://example.com/cat.png"}]
        inputs = {"name": "Ada", "n": 3, "ratio": 0.5, "flags": [True, None], "nested": {"k": "v"}}
        client.app.chat.invoke(stack.app_id("chat"), "Look", inputs, "blocking", files=files, user="carol")
        [sent] = [r for r in stack.requests() if r["path"] == "/v1/chat-messages"]
        self.assertEqual(sent["body"]["files"], files)
        self.assertEqual(sent["body"]["user"], "carol")
        self.assertEqual(sent["body"]["inputs"], inputs)

    def test_without_user_the_workspace_default_user_is_sent(self) -> None:
        stack.reset()
        client.app.chat.invoke(stack.app_id("chat"), "Hi", response_mode="blocking")
        [sent] = [r for r in stack.requests() if r["path"] == "/v1/chat-messages"]
        self.assertEqual(sent["body"]["user"], "ws-default-user")


class WorkflowTest(unittest.TestCase):
    def test_blocking_returns_the_run_dict(self) -> None:
        res = client.app.workflow.invoke(stack.app_id("workflow"), {"query": "What is gRPC?"}, "blocking")
        self.assertRegex(res["workflow_run_id"], UUID)
        self.assertEqual(res["data"]["status"], "succeeded")
        self.assertTrue(res["data"]["outputs"]["text"].startswith(echo("Demo Workflow", "What is gRPC?")))
        self.assertIsInstance(res["data"]["total_steps"], int)

    def test_blocking_is_the_default_mode_as_in_dify_plugin(self) -> None:
        self.assertEqual(client.app.workflow.invoke(stack.app_id("workflow"), {"query": "x"})["data"]["status"], "succeeded")

    def test_streaming_yields_the_run_events(self) -> None:
        events = list(client.app.workflow.invoke(stack.app_id("workflow"), {"query": "What is gRPC?"}, "streaming"))
        names = [e["event"] for e in events]
        self.assertEqual(names[0], "workflow_started")
        self.assertEqual(names[-1], "workflow_finished")
        self.assertIn("node_started", names)
        text = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
        self.assertEqual(text, events[-1]["data"]["outputs"]["text"])

    def test_a_failed_run_is_a_result_not_an_error(self) -> None:
        res = client.app.workflow.invoke(stack.app_id("workflow"), {"_sim": {"fault": "workflow_failed", "error": "boom"}}, "blocking")
        self.assertEqual(res["data"]["status"], "failed")
        self.assertEqual(res["data"]["error"], "boom")


class CompletionTest(unittest.TestCase):
    def test_blocking_returns_the_message_dict(self) -> None:
        res = client.app.completion.invoke(stack.app_id("completion"), {"query": "Write a haiku"}, "blocking")
        self.assertEqual(res["mode"], "completion")
        self.assertNotIn("conversation_id", res)
        self.assertTrue(res["answer"].startswith(echo("Demo Text Generator", "Write a haiku")))

    def test_streaming_yields_message_events_then_message_end(self) -> None:
        events = list(client.app.completion.invoke(stack.app_id("completion"), {"query": "Write a haiku"}, "streaming"))
        self.assertEqual(events[-1]["event"], "message_end")
        self.assertTrue(joined(events, "message").startswith(echo("Demo Text Generator", "Write a haiku")))


class ErrorTest(unittest.TestCase):
    def assert_not_found(self, err: AppInvokeError, app_id: str) -> None:
        self.assertEqual(err.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(err.reason, "APP_NOT_FOUND")
        self.assertEqual(err.dify_code, "APP_NOT_FOUND")
        self.assertEqual(err.domain, "dify-grpc-gateway")
        self.assertEqual(err.metadata.get("appId"), app_id)
        self.assertIn(app_id, err.message)

    def test_a_foreign_app_id_raises_not_found_without_reaching_dify(self) -> None:
        foreign = stack.app_id(FOREIGN_MODE)
        stack.reset()
        with self.assertRaises(AppInvokeError) as blocking:
            client.app.chat.invoke(foreign, "Hi", {}, "blocking")
        self.assert_not_found(blocking.exception, foreign)
        with self.assertRaises(AppInvokeError) as streaming:
            next(client.app.chat.invoke(foreign, "Hi", {}, "streaming"))
        self.assert_not_found(streaming.exception, foreign)
        self.assertEqual(stack.requests(), [])

    def test_an_unknown_app_id_raises_not_found_on_every_interface(self) -> None:
        unknown = str(uuid.uuid4())
        calls = {
            "workflow": lambda mode: client.app.workflow.invoke(unknown, {}, mode),
            "completion": lambda mode: client.app.completion.invoke(unknown, {}, mode),
        }
        for name, call in calls.items():
            with self.subTest(name):
                with self.assertRaises(AppInvokeError) as blocking:
                    call("blocking")
                self.assert_not_found(blocking.exception, unknown)
                with self.assertRaises(AppInvokeError) as streaming:
                    list(call("streaming"))
                self.assert_not_found(streaming.exception, unknown)

    def test_an_invalid_request_names_the_field(self) -> None:
        with self.assertRaises(AppInvokeError) as ctx:
            client.app.chat.invoke(stack.app_id("chat"), "", {}, "blocking")
        err = ctx.exception
        self.assertEqual(err.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(err.reason, "INVALID_REQUEST")
        self.assertEqual([field for field, _ in err.field_violations], ["query"])
        self.assertTrue(err.message.startswith("query"), err.message)

    def test_difys_error_code_and_retry_delay_are_carried(self) -> None:
        fault = {"_sim": {"fault": "http_error", "status": 429, "code": "too_many_requests", "message": "busy", "headers": {"Retry-After": "3"}}}
        with self.assertRaises(AppInvokeError) as ctx:
            client.app.completion.invoke(stack.app_id("completion"), fault, "blocking")
        err = ctx.exception
        self.assertEqual(err.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(err.dify_code, "too_many_requests")
        self.assertEqual(err.reason, "TOO_MANY_REQUESTS")
        self.assertEqual(err.domain, "dify")
        self.assertEqual(err.metadata["upstreamStatus"], "429")
        self.assertEqual(err.retry_delay, 3.0)
        self.assertIn("busy", err.message)

    def test_an_error_event_mid_stream_arrives_after_the_events_before_it(self) -> None:
        fault = {"_sim": {"fault": "error_event", "after": 2, "status": 400, "code": "provider_quota_exceeded", "message": "quota"}}
        got = []
        with self.assertRaises(AppInvokeError) as ctx:
            for event in client.app.chat.invoke(stack.app_id("chat"), "Hi", fault, "streaming"):
                got.append(event["event"])
        self.assertEqual(got, ["message", "message", "error"])
        self.assertEqual(ctx.exception.code, grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(ctx.exception.dify_code, "provider_quota_exceeded")
        self.assertIsNone(ctx.exception.retry_delay)

    def test_a_wrong_token_raises_unauthenticated(self) -> None:
        with AppClient(stack.target, "not-the-token") as other:
            with self.assertRaises(AppInvokeError) as ctx:
                other.app.chat.invoke(stack.app_id("chat"), "Hi", {}, "blocking")
        self.assertEqual(ctx.exception.code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertNotIn("not-the-token", str(ctx.exception))

    def test_a_bad_response_mode_is_refused_before_any_call(self) -> None:
        with self.assertRaises(ValueError):
            client.app.chat.invoke(stack.app_id("chat"), "Hi", {}, "stream")  # type: ignore[call-overload]


class CancellationTest(unittest.TestCase):
    def stops(self) -> list[dict]:
        return [r for r in stack.requests() if r["path"].endswith("/stop")]

    def test_closing_the_generator_after_three_events_stops_the_dify_run(self) -> None:
        cases = {
            "chat": (lambda: client.app.chat.invoke(stack.app_id("chat"), "slow", SLOW, "streaming", user="ivy"), "/v1/chat-messages/"),
            "workflow": (lambda: client.app.workflow.invoke(stack.app_id("workflow"), SLOW, "streaming", user="ivy"), "/v1/workflows/tasks/"),
            "completion": (lambda: client.app.completion.invoke(stack.app_id("completion"), SLOW, "streaming", user="ivy"), "/v1/completion-messages/"),
        }
        for name, (start, prefix) in cases.items():
            with self.subTest(name):
                stack.reset()
                events = start()
                first_three = [next(events) for _ in range(3)]
                events.close()
                task_id = first_three[0]["task_id"]
                self.assertRegex(task_id, UUID)

                def stopped() -> None:
                    self.assertEqual([(s["path"], s["body"]) for s in self.stops()], [(f"{prefix}{task_id}/stop", {"user": "ivy"})])

                eventually(stopped)
                with self.assertRaises(StopIteration):
                    next(events)

    def test_breaking_out_of_the_loop_stops_the_run_too(self) -> None:
        stack.reset()
        for i, event in enumerate(client.app.chat.invoke(stack.app_id("chat"), "slow", SLOW, "streaming", user="ivy")):
            if i == 2:
                task_id = event["task_id"]
                break
        # The loop dropped the last reference: CPython closes the generator at once.
        eventually(lambda: self.assertEqual([s["path"] for s in self.stops()], [f"/v1/chat-messages/{task_id}/stop"]))

    def test_streams_read_to_their_end_are_not_stopped(self) -> None:
        stack.reset()
        for _ in range(3):
            list(client.app.chat.invoke(stack.app_id("chat"), "Hi", {}, "streaming"))
            list(client.app.workflow.invoke(stack.app_id("workflow"), {}, "streaming"))
        time.sleep(0.3)
        self.assertEqual(self.stops(), [])

    def test_a_timeout_ends_the_call_with_deadline_exceeded_and_stops_the_run(self) -> None:
        stack.reset()
        started = time.monotonic()
        with self.assertRaises(AppInvokeError) as ctx:
            client.app.completion.invoke(stack.app_id("completion"), SLOW, "blocking", user="jack", timeout=0.5)
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertEqual(ctx.exception.code, grpc.StatusCode.DEADLINE_EXCEEDED)
        eventually(lambda: self.assertEqual([s["body"] for s in self.stops()], [{"user": "jack"}]))

    def test_the_clients_default_timeout_bounds_a_stream(self) -> None:
        with AppClient(stack.target, stack.token, timeout=0.5) as short:
            with self.assertRaises(AppInvokeError) as ctx:
                for _ in short.app.workflow.invoke(stack.app_id("workflow"), SLOW, "streaming"):
                    pass
        self.assertEqual(ctx.exception.code, grpc.StatusCode.DEADLINE_EXCEEDED)


if __name__ == "__main__":
    unittest.main()
