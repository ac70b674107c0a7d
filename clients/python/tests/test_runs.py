"""Human input, re-attach and run status through the Python client, against real processes."""

from __future__ import annotations

import unittest

import grpc

from dify_app_client import AppClient, AppInvokeError

from .stack import Stack

stack: Stack
client: AppClient


def setUpModule() -> None:
    global stack, client
    stack = Stack()
    client = AppClient(stack.target, stack.token)


def tearDownModule() -> None:
    client.close()
    stack.stop()


def app_id(name: str) -> str:
    return next(app["appId"] for app in stack.apps if app["name"] == name)


class HumanInputTest(unittest.TestCase):
    def test_paused_blocking_call_form_rejected_then_accepted_submit_and_resume(self) -> None:
        app = app_id("Demo Approval Workflow")
        res = client.app.workflow.invoke(app, {"query": "draft"}, "blocking", user="py")
        self.assertEqual(res["data"]["status"], "paused")
        pause = res["pause"]
        self.assertEqual(pause["workflow_run_id"], res["workflow_run_id"])
        token = pause["forms"][0]["form_token"]
        self.assertEqual([a["id"] for a in pause["forms"][0]["actions"]], ["approve", "reject"])

        form = client.app.workflow.get_form(app, token)
        self.assertEqual(form["form_content"], "Please review the draft answer before it is sent.\n\nReviewer comment: {{#$output.comment#}}")

        with self.assertRaises(AppInvokeError) as rejected:
            client.app.workflow.submit_form(app, token, "maybe", {"comment": "x"}, user="py")
        self.assertEqual(rejected.exception.code, grpc.StatusCode.INVALID_ARGUMENT)

        events = list(client.app.workflow.resume(app, pause["workflow_run_id"], token, "approve", {"comment": "fine"}, user="py"))
        # The resumed part, or, if the run was over before the stream attached, its workflow_finished only.
        self.assertEqual(events[-1]["event"], "workflow_finished")
        run = client.app.workflow.get_run(app, pause["workflow_run_id"])
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(run["outputs"]["text"], "Approve: fine")

        with self.assertRaises(AppInvokeError) as again:
            client.app.workflow.submit_form(app, token, "approve", {"comment": "twice"}, user="py")
        self.assertEqual(again.exception.code, grpc.StatusCode.FAILED_PRECONDITION)

    def test_two_pauses_resumed_on_one_watch_with_continue_on_pause(self) -> None:
        app = app_id("Demo Two-Step Approval")
        res = client.app.workflow.invoke(app, {}, "blocking", user="py")
        run_id = res["pause"]["workflow_run_id"]
        client.app.workflow.submit_form(app, res["pause"]["forms"][0]["form_token"], "approve", {"comment": "one"}, user="py")
        names = []
        for event in client.app.workflow.watch_run(app, run_id, user="py", continue_on_pause=True):
            names.append(event["event"])
            if event["event"] == "human_input_required":
                client.app.workflow.submit_form(app, event["data"]["form_token"], "approve", {"comment": "two"}, user="py")
        self.assertEqual(names.count("human_input_form_filled"), 2)
        self.assertEqual(names[-1], "workflow_finished")

    def test_watch_by_another_user_is_not_found(self) -> None:
        app = app_id("Demo Approval Workflow")
        res = client.app.workflow.invoke(app, {}, "blocking", user="owner")
        with self.assertRaises(AppInvokeError) as err:
            list(client.app.workflow.watch_run(app, res["workflow_run_id"], user="intruder"))
        self.assertEqual(err.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_reasoning_is_joined(self) -> None:
        res = client.app.chat.invoke(app_id("Demo Reasoning Chatflow"), "Why?", {}, "blocking")
        self.assertIn("Why?", res["reasoning"])
