"""examples/python/stream_chat.py against the demo that `npm start` serves (built dist/src/main.js)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

from .stack import NODE, ROOT, Proc, eventually, gateway_port

EXAMPLE = ROOT / "examples" / "python" / "stream_chat.py"
CLIENT_DIR = ROOT / "clients" / "python"

demo: Proc
target: str
simulator_url: str
token: str


def setUpModule() -> None:
    global demo, target, simulator_url, token
    token = "demo-" + secrets.token_hex(12)
    # What `npm start` runs, on a free port; the token through the env var the demo reads.
    demo = Proc([NODE, "dist/src/main.js", "--listen", "127.0.0.1:0"], {"DIFY_GATEWAY_DEMO_TOKEN": token})
    try:
        target = f"127.0.0.1:{gateway_port(demo)}"
        banner = demo.wait_for_line(lambda l: "embedded Dify simulator at" in l)
        simulator_url = re.search(r"simulator at (http://\S+)/v1", banner).group(1)  # type: ignore[union-attr]
    except BaseException:
        demo.stop()
        raise


def tearDownModule() -> None:
    demo.stop()


def run_example(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    # Only what the example documents: its settings and PYTHONPATH to the client package. Without
    # PYTHONUNBUFFERED, stdout to a pipe is block-buffered, as for anyone piping the example.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "TOKEN")) and k != "PYTHONUNBUFFERED"}
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE), *args],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(CLIENT_DIR), "DIFY_GATEWAY_TARGET": target, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


class StreamChatExampleTest(unittest.TestCase):
    def test_relays_each_event_as_it_arrives(self) -> None:
        lines: list[tuple[float, str]] = []
        with run_example("What is gRPC?", env={"TOKEN": token}) as proc:  # as `export TOKEN=…` from the banner
            assert proc.stdout and proc.stderr
            for line in proc.stdout:
                lines.append((time.monotonic(), line))
            stderr = proc.stderr.read()
            self.assertEqual(proc.wait(timeout=30), 0, stderr)
        events = [json.loads(line) for _, line in lines]
        self.assertGreater(len(events), 3)
        self.assertEqual(events[-1]["event"], "message_end")
        answer = "".join(e["answer"] for e in events if e["event"] == "message")
        self.assertTrue(answer.startswith("Echo from Demo Chatbot: What is gRPC?"), answer)
        # The demo sends one word every 40 ms. Buffered output would reach us all at once, at exit.
        self.assertGreater(lines[-1][0] - lines[0][0], 0.2)
        self.assertNotIn(token, "".join(l for _, l in lines) + stderr)

    def test_reports_a_failed_call_on_stderr_with_exit_status_1(self) -> None:
        proc = run_example("Hi", "--app-id", "00000000-0000-4000-8000-00000000dead", env={"DIFY_GATEWAY_DEMO_TOKEN": token})
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(out, "")
        self.assertIn("NOT_FOUND (APP_NOT_FOUND)", err)
        self.assertNotIn(token, err)

    def test_refuses_to_run_without_a_token(self) -> None:
        proc = run_example("Hi")
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("DIFY_GATEWAY_TOKEN", err)

    def test_ctrl_c_cancels_the_call_and_the_run_is_stopped(self) -> None:
        with urllib.request.urlopen(urllib.request.Request(f"{simulator_url}/__sim/requests", method="DELETE"), timeout=5):
            pass
        with run_example("Hi", "--user", "zoe", env={"DIFY_GATEWAY_TOKEN": token}) as proc:
            assert proc.stdout
            first = json.loads(proc.stdout.readline())
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130)

        def stopped() -> None:
            with urllib.request.urlopen(f"{simulator_url}/__sim/requests", timeout=5) as res:
                stops = [r for r in json.load(res) if r["path"].endswith("/stop")]
            self.assertEqual([(s["path"], s["body"]) for s in stops], [(f"/v1/chat-messages/{first['task_id']}/stop", {"user": "zoe"})])

        eventually(stopped)

    def test_a_reader_that_goes_away_cancels_the_call_without_a_traceback(self) -> None:
        # `python stream_chat.py | head -1`: the pipe closes after the first line.
        with urllib.request.urlopen(urllib.request.Request(f"{simulator_url}/__sim/requests", method="DELETE"), timeout=5):
            pass
        with run_example("Hi", "--user", "yan", env={"DIFY_GATEWAY_TOKEN": token}) as proc:
            assert proc.stdout and proc.stderr
            first = json.loads(proc.stdout.readline())
            proc.stdout.close()
            proc.wait(timeout=30)
            errors = proc.stderr.read()
        self.assertEqual(proc.returncode, 1)
        self.assertNotIn("Traceback", errors)
        self.assertNotIn("BrokenPipe", errors)

        def stopped() -> None:
            with urllib.request.urlopen(f"{simulator_url}/__sim/requests", timeout=5) as res:
                stops = [r for r in json.load(res) if r["path"].endswith("/stop")]
            self.assertEqual([(s["path"], s["body"]) for s in stops], [(f"/v1/chat-messages/{first['task_id']}/stop", {"user": "yan"})])

        eventually(stopped)


if __name__ == "__main__":
    unittest.main()
