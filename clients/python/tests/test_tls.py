"""The Python client over TLS, against a gateway serving a throwaway self-signed certificate."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

import grpc

from dify_app_client import AppClient, AppInvokeError

from .stack import Stack, self_signed_certificate

stack: Stack
cert: bytes
_dir: tempfile.TemporaryDirectory


def setUpModule() -> None:
    global stack, cert, _dir
    _dir = tempfile.TemporaryDirectory(prefix="py-client-tls-")
    cert_file, key_file = self_signed_certificate(Path(_dir.name))
    cert = cert_file.read_bytes()
    stack = Stack(tls={"certFile": str(cert_file), "keyFile": str(key_file)})


def tearDownModule() -> None:
    stack.stop()
    _dir.cleanup()


class TlsTest(unittest.TestCase):
    def test_trusting_the_gateways_certificate_works_in_both_modes(self) -> None:
        with AppClient(stack.target, stack.token, root_certificates=cert) as client:
            res = client.app.completion.invoke(stack.app_id("completion"), {"query": "over TLS"}, "blocking")
            self.assertTrue(res["answer"].startswith("Echo from Demo Text Generator: over TLS"))
            events = list(client.app.chat.invoke(stack.app_id("chat"), "over TLS", {}, "streaming"))
            self.assertEqual(events[-1]["event"], "message_end")

    def test_an_untrusted_certificate_is_refused(self) -> None:
        # tls=True trusts the system roots only, which did not sign this certificate.
        with AppClient(stack.target, stack.token, tls=True, timeout=5) as client:
            with self.assertRaises(AppInvokeError) as ctx:
                client.app.completion.invoke(stack.app_id("completion"), {}, "blocking")
        self.assertEqual(ctx.exception.code, grpc.StatusCode.UNAVAILABLE)
        self.assertIsNone(ctx.exception.reason)  # Refused by the client: the gateway never answered.

    def test_plaintext_to_a_tls_gateway_fails(self) -> None:
        with AppClient(stack.target, stack.token, timeout=5) as client:
            with self.assertRaises(AppInvokeError) as ctx:
                client.app.completion.invoke(stack.app_id("completion"), {}, "blocking")
        self.assertEqual(ctx.exception.code, grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main()
