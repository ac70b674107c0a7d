"""The streaming iterator's re-attach after a drain hand-off, against fake streams (no processes): the rules the
TypeScript client's rolling-restart test checks end to end (test/client/rolling-restart.test.ts)."""

from __future__ import annotations

import unittest
from typing import Generator, Optional
from unittest import mock

import grpc

from dify_app_client import REATTACHED_EVENT, RUN_CONFIRMED_EVENT, AppInvokeError
from dify_app_client._client import _Calls, _RunCalls
from dify_app_client._reattach import reattaching

RUN = "run-1"


def node(event: str, node_id: str) -> dict:
    return {"event": event, "workflow_run_id": RUN, "data": {"id": node_id}}


def handed_off(run_id: Optional[str] = RUN, reason: str = "SHUTTING_DOWN") -> AppInvokeError:
    metadata = {"workflowRunId": run_id, "appId": "app"} if run_id else {}
    return AppInvokeError(grpc.StatusCode.UNAVAILABLE, "shutting down", reason=reason, metadata=metadata, retry_delay=0.0)


def stream(events: list, then: Optional[Exception] = None) -> Generator[dict, None, None]:
    yield from events
    if then is not None:
        raise then


FIRST = [
    {"event": "workflow_started", "workflow_run_id": RUN, "data": {"id": RUN}},
    node("node_started", "start"),
    node("node_finished", "start"),
    node("node_started", "llm"),
    {"event": "text_chunk", "workflow_run_id": RUN, "data": {"text": "a"}},
]
# WatchRun with the snapshot: the run's start and the nodes already run, then what follows.
REPLAY = [
    {"event": "workflow_started", "workflow_run_id": RUN, "data": {"id": RUN}},
    node("node_started", "start"),
    node("node_finished", "start"),
    node("node_started", "llm"),
    {"event": "text_chunk", "workflow_run_id": RUN, "data": {"text": "c"}},
    node("node_finished", "llm"),
    {"event": "workflow_finished", "workflow_run_id": RUN, "data": {"status": "succeeded", "outputs": {"text": "abc"}}},
]
DETAIL = {"id": RUN, "status": "succeeded", "outputs": {"text": "abc"}}


@mock.patch("dify_app_client._reattach.time.sleep")
class ReattachTest(unittest.TestCase):
    def test_follows_the_run_without_repeating_node_events_and_confirms_it(self, _sleep: mock.Mock) -> None:
        watched: list = []
        events = list(
            reattaching(
                stream(FIRST, handed_off()),
                lambda run_id: (watched.append(run_id), stream(REPLAY))[1],
                lambda run_id: DETAIL,
                3,
            )
        )
        self.assertEqual(watched, [RUN])
        names = [e["event"] for e in events]
        self.assertEqual(names.count("workflow_started"), 1)
        node_keys = [(e["event"], e["data"]["id"]) for e in events if e["event"].startswith("node_")]
        self.assertEqual(len(node_keys), len(set(node_keys)))
        self.assertEqual(node_keys[-1], ("node_finished", "llm"))
        marker = events[names.index(REATTACHED_EVENT)]
        self.assertEqual(marker["chunks_may_be_missing"], True)
        self.assertEqual(names[-2:], ["workflow_finished", RUN_CONFIRMED_EVENT])
        self.assertEqual(events[-1]["data"], DETAIL)

    def test_waits_as_retry_info_says(self, sleep: mock.Mock) -> None:
        err = handed_off()
        err.retry_delay = 1.0
        list(reattaching(stream(FIRST, err), lambda _: stream(REPLAY), lambda _: DETAIL, 3))
        sleep.assert_called_once_with(1.0)

    def test_a_drain_that_named_no_run_is_raised(self, _sleep: mock.Mock) -> None:
        # A chat run, or a workflow run no event had named: the gateway stopped it, there is nothing to follow.
        with self.assertRaises(AppInvokeError):
            list(reattaching(stream(FIRST, handed_off(None)), lambda _: stream(REPLAY), lambda _: DETAIL, 3))

    def test_bounded_by_max_reattaches(self, _sleep: mock.Mock) -> None:
        watches: list = []

        def watch(run_id: str) -> Generator[dict, None, None]:
            watches.append(run_id)
            return stream([], handed_off())

        with self.assertRaises(AppInvokeError):
            list(reattaching(stream(FIRST, handed_off()), watch, lambda _: DETAIL, 2))
        self.assertEqual(len(watches), 2)

    def test_zero_reattaches_raises_the_hand_off(self, _sleep: mock.Mock) -> None:
        with self.assertRaises(AppInvokeError) as caught:
            list(reattaching(stream(FIRST, handed_off()), lambda _: stream(REPLAY), lambda _: DETAIL, 0))
        self.assertEqual(caught.exception.metadata["workflowRunId"], RUN)

    def test_a_stream_that_ends_normally_is_passed_on_as_it_is(self, _sleep: mock.Mock) -> None:
        events = list(reattaching(stream(REPLAY), lambda _: stream([]), lambda _: DETAIL, 3))
        self.assertEqual(events, REPLAY)


class FakeRuns(_RunCalls):
    """The client's run calls with the gRPC ones replaced: records the timeout each re-attach call gets, on a
    clock that only the streams and the backoff advance."""

    def __init__(self, default_timeout: Optional[float], clock: list) -> None:
        self._calls = _Calls((), default_timeout, 3)
        self.clock = clock
        self.watch_timeouts: list = []
        self.get_run_timeouts: list = []

    def watch_run(self, app_id: str, workflow_run_id: str, *, timeout: Optional[float] = None, **_: object) -> Generator[dict, None, None]:
        # As the real call: no timeout of its own is the client's default.
        self.watch_timeouts.append(self._calls._default_timeout if timeout is None else timeout)
        # The first WatchRun runs 3 s, then its replica drains too; the second follows the run to its end.
        return self.slow(3.0, [], handed_off()) if len(self.watch_timeouts) == 1 else stream(REPLAY)

    def get_run(self, app_id: str, workflow_run_id: str, *, timeout: Optional[float] = None) -> dict:
        self.get_run_timeouts.append(self._calls._default_timeout if timeout is None else timeout)
        return DETAIL

    def slow(self, seconds: float, events: list, then: Exception) -> Generator[dict, None, None]:
        yield from events
        self.clock[0] += seconds
        raise then


class FollowedDeadlineTest(unittest.TestCase):
    """The timeout bounds the whole stream: each re-attach gets the time left, not a fresh timeout."""

    def check(self, default_timeout: Optional[float], timeout: Optional[float]) -> None:
        clock = [100.0]
        runs = FakeRuns(default_timeout, clock)
        with mock.patch("time.monotonic", lambda: clock[0]), mock.patch("time.sleep", lambda s: clock.__setitem__(0, clock[0] + s)):
            # The first stream runs 4 s before its gateway drains; the backoffs are 0.25 s, then 0.5 s.
            events = list(runs._followed(runs.slow(4.0, FIRST, handed_off()), "app", "u", timeout))
        self.assertEqual(events[-1]["event"], RUN_CONFIRMED_EVENT)
        for got, want in zip(runs.watch_timeouts + runs.get_run_timeouts, [5.75, 2.25, 2.25]):
            self.assertAlmostEqual(got, want)
        self.assertEqual(len(runs.watch_timeouts + runs.get_run_timeouts), 3)

    def test_the_calls_timeout_bounds_the_re_attaches(self) -> None:
        self.check(None, 10.0)

    def test_the_clients_default_timeout_bounds_them_too(self) -> None:
        self.check(10.0, None)

    def test_without_a_timeout_they_have_none(self) -> None:
        runs = FakeRuns(None, [0.0])
        with mock.patch("time.sleep"):
            list(runs._followed(stream(FIRST, handed_off()), "app", "u", None))
        self.assertEqual(runs.watch_timeouts + runs.get_run_timeouts, [None, None, None])


if __name__ == "__main__":
    unittest.main()
