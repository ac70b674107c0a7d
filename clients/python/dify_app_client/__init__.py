"""Call the Dify Apps of your workspace through the Dify gRPC gateway, in the shape of Dify's plugin
SDK (``session.app.chat | workflow | completion .invoke``)::

    from dify_app_client import AppClient

    with AppClient("127.0.0.1:50051", token) as client:
        for event in client.app.chat.invoke(app_id, "Hello", {}, response_mode="streaming"):
            print(event["event"], event.get("answer", ""))
"""

__version__ = "0.1.0"

from ._client import AppClient, Apps, ChatApp, CompletionApp, WorkflowApp  # noqa: E402
from ._errors import AppInvokeError  # noqa: E402
from .apps import AppCatalog  # noqa: E402
from .files import Files  # noqa: E402
from ._reattach import REATTACHED_EVENT, RUN_CONFIRMED_EVENT  # noqa: E402

__all__ = [
    "REATTACHED_EVENT",
    "RUN_CONFIRMED_EVENT",
    "AppCatalog",
    "AppClient",
    "AppInvokeError",
    "Apps",
    "ChatApp",
    "CompletionApp",
    "Files",
    "WorkflowApp",
    "__version__",
]
