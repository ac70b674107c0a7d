"""Driver for test/client/python-rolling-restart.test.ts: N workflow streams through the Python client.

Usage: rolling_restart.py <target> <token> <app_id> <streams>. Each event a stream yields is printed as one JSON
line {"stream": i, "event": {...}}; a stream's end as {"stream": i, "done": true} or {"stream": i, "error": "..."}.
The test reads these lines to time the drains and to check what every stream received.
"""

from __future__ import annotations

import json
import sys
import threading

from dify_app_client import AppClient

target, token, app_id, streams = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lock = threading.Lock()


def emit(line: dict) -> None:
    with lock:
        sys.stdout.write(json.dumps(line, default=str) + "\n")
        sys.stdout.flush()


def run(client: AppClient, i: int) -> None:
    try:
        # About 10 s each on Dify's side (detached: the run goes on while nobody is attached), so it outlives both drains.
        inputs = {"_sim": {"events": 120, "delay_ms": 80, "detached": True, "key": f"py-rolling-{i}"}}
        for event in client.app.workflow.invoke(app_id, inputs, response_mode="streaming", user=f"py-rolling-user-{i}"):
            emit({"stream": i, "event": event})
        emit({"stream": i, "done": True})
    except Exception as err:  # Reported, never swallowed: the test fails on it.
        emit({"stream": i, "error": f"{type(err).__name__}: {err}"})


with AppClient(target, token, max_reattaches=4) as client:
    threads = [threading.Thread(target=run, args=(client, i)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
