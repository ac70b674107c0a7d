"""A workflow or Chatflow stream that survives a gateway's drain (the same rules as the TypeScript client's
``reattach.ts``): on ``UNAVAILABLE`` ``SHUTTING_DOWN`` naming the run (``metadata["workflowRunId"]``), it waits as
RetryInfo says, re-attaches with WatchRun (state snapshot, the stream's own user), drops the replayed node events
the caller already saw, passes on the rest, and ends with the run's detail from GetWorkflowRun."""

import re
import time
from typing import Callable, Generator, Optional

import grpc

from ._errors import AppInvokeError

#: Yielded before each re-attach. Text chunks Dify sent while nobody was attached can be missing:
#: ``chunks_may_be_missing`` is always True, the stream is not whole.
REATTACHED_EVENT = "gateway_reattached"
#: Yielded last after a re-attach: ``data`` is the run's detail (``status``, ``outputs``), the result to trust.
RUN_CONFIRMED_EVENT = "gateway_run_confirmed"

# Without RetryInfo: 0.25 s, doubling, at most 5 s.
_BASE_BACKOFF = 0.25
_MAX_BACKOFF = 5.0
_REPLAYED = re.compile(r"^(node|iteration|loop)_")


def reattaching(
    first: Generator[dict, None, None],
    watch: Callable[[str], Generator[dict, None, None]],
    get_run: Callable[[str], dict],
    max_reattaches: int,
) -> Generator[dict, None, None]:
    seen: set = set()
    run_id: Optional[str] = None
    stream = first
    reattaches = 0
    while True:
        try:
            for event in stream:
                if run_id is None and isinstance(event.get("workflow_run_id"), str):
                    run_id = event["workflow_run_id"]
                key = _replay_key(event)
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                yield event
            break
        except AppInvokeError as err:
            target = _reattach_target(err, run_id, reattaches > 0)
            if target is None or reattaches >= max_reattaches:
                raise
            reattaches += 1
            time.sleep(max(err.retry_delay or 0.0, min(_BASE_BACKOFF * 2 ** (reattaches - 1), _MAX_BACKOFF)))
            run_id = target
            yield {"event": REATTACHED_EVENT, "workflow_run_id": target, "reattach": reattaches, "chunks_may_be_missing": True}
            stream = watch(target)
    if reattaches > 0 and run_id is not None:
        yield {"event": RUN_CONFIRMED_EVENT, "workflow_run_id": run_id, "data": get_run(run_id)}


def _reattach_target(err: AppInvokeError, run_id: Optional[str], watching: bool) -> Optional[str]:
    """The first stream follows only a drain that named its run; a WatchRun (which starts and stops nothing) is
    retried on any UNAVAILABLE, the next replica may not be reachable yet."""
    if err.code != grpc.StatusCode.UNAVAILABLE:
        return None
    named = err.metadata.get("workflowRunId") if err.reason == "SHUTTING_DOWN" else None
    return named or (run_id if watching else None)


def _replay_key(event: dict) -> Optional[str]:
    name = str(event.get("event"))
    if name == "workflow_started":
        return f"{name}:{event.get('workflow_run_id')}"
    if not _REPLAYED.match(name):
        return None
    data = event.get("data") or {}
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    return ":".join([name, data["id"], str(data.get("index", "")), str(data.get("retry_index", ""))])
