"""Invoke a chat app in streaming mode and relay each event as it arrives.

The Python client's version of the example in Dify's plugin docs ("Reverse invocation: App"), where an
Endpoint returns `self.session.app.chat.invoke(..., response_mode="streaming")` as a streamed
response, one JSON document per event. Here the events go to stdout, one JSON line each, flushed at
once, so a pipe sees every event the moment the gateway delivers it.

Against `npm start` (the demo gateway on 127.0.0.1:50051):

    export TOKEN=demo-…            # printed by npm start
    .venv/bin/python examples/python/stream_chat.py "What is gRPC?"   # with the client's wheel installed
    PYTHONPATH=clients/python /usr/bin/python3 examples/python/stream_chat.py "What is gRPC?"   # or in place

(Installing the wheel: clients/python/README.md.)

Settings, from flags or the environment (flags win):
    --target   DIFY_GATEWAY_TARGET   default 127.0.0.1:50051
    token      DIFY_GATEWAY_TOKEN, else DIFY_GATEWAY_DEMO_TOKEN, else TOKEN (no flag: a flag would show it in `ps`)
    --app-id   DIFY_APP_ID           default the demo Chatbot
    --user     DIFY_USER             default: the workspace's default user
Exit status: 0 when the stream ended normally, 1 when the call failed (the error goes to stderr),
2 for a usage error, 130 on Ctrl-C (which cancels the call, and the gateway stops the Dify run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Generator

from dify_app_client import AppClient, AppInvokeError

DEMO_CHAT_APP_ID = "a1c00000-0000-4000-8000-000000000001"


def relay(client: AppClient, app_id: str, query: str, user: str | None) -> Generator[str, None, None]:
    """The doc example's generator(): one JSON document per event, as each arrives."""
    response = client.app.chat.invoke(app_id=app_id, query=query, inputs={}, response_mode="streaming", user=user)
    for data in response:
        yield json.dumps(data, ensure_ascii=False)


def main() -> int:
    parser = argparse.ArgumentParser(description="Relay a chat app's streamed events as JSON lines.")
    parser.add_argument("query", nargs="?", default="Hello")
    parser.add_argument("--target", default=os.environ.get("DIFY_GATEWAY_TARGET", "127.0.0.1:50051"))
    parser.add_argument("--app-id", default=os.environ.get("DIFY_APP_ID", DEMO_CHAT_APP_ID))
    parser.add_argument("--user", default=os.environ.get("DIFY_USER") or None)
    args = parser.parse_args()
    token = os.environ.get("DIFY_GATEWAY_TOKEN") or os.environ.get("DIFY_GATEWAY_DEMO_TOKEN") or os.environ.get("TOKEN")
    if not token:
        parser.error("set DIFY_GATEWAY_TOKEN (or TOKEN, as npm start prints it) to the workspace token")

    with AppClient(args.target, token) as client:
        events = relay(client, args.app_id, args.query, args.user)
        try:
            for line in events:
                print(line, flush=True)
        except AppInvokeError as err:
            print(f"error: {err.code.name} ({err.dify_code}): {err.message}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            events.close()  # Cancels the call; the gateway then stops the run in Dify.
            return 130
        except BrokenPipeError:
            # Whoever read our output left (`| head`): nobody wants the rest, so cancel the call, as for Ctrl-C, and
            # point stdout at /dev/null so that Python's flush at exit does not raise the same error again.
            events.close()
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
