"""Real processes for the tests: the built Dify simulator and the built gateway in front of it.

Needs `npm run build` (dist/); `npm run test:python` and the vitest wrapper both build first.
Everything listens on 127.0.0.1 with ephemeral ports, and every process started is stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[3]
# The vitest wrapper passes its own node; standalone runs use the one on PATH.
NODE = os.environ.get("NODE") or shutil.which("node") or "node"


class Proc:
    """A child process whose output lines (stdout and stderr) we keep and can wait for."""

    def __init__(self, args: list[str], env: Optional[dict[str, str]] = None) -> None:
        self.lines: list[str] = []
        self._new: "queue.Queue[Optional[str]]" = queue.Queue()
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def wait_for_line(self, test: Callable[[str], bool], timeout: float = 15.0) -> str:
        for line in self.lines:
            if test(line):
                return line
        until = time.monotonic() + timeout
        while True:
            try:
                line = self._new.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("timed out waiting for a line; output so far:\n" + "\n".join(self.lines)) from None
            if line is None:
                raise RuntimeError(f"process exited ({self.popen.wait()}) before the expected line; output:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if test(line):
                return line

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.popen.stdout:
            self.popen.stdout.close()


def demo_apps() -> list[dict[str, Any]]:
    """The simulator's demo apps (id, key, mode), read from the built code rather than copied here."""
    script = "import { DEMO_APPS } from './dist/simulator/index.js'; process.stdout.write(JSON.stringify(DEMO_APPS));"
    out = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def gateway_port(proc: Proc) -> int:
    line = proc.wait_for_line(lambda l: "gateway listening" in l)
    return int(json.loads(line)["port"])


class Stack:
    """A simulator process and a gateway process in front of it, every demo app in one workspace."""

    def __init__(
        self,
        simulator_args: tuple[str, ...] = (),
        tls: Optional[dict[str, str]] = None,
        exclude_modes: tuple[str, ...] = (),
    ) -> None:
        """`exclude_modes`: demo apps left out of the workspace, so that they exist in Dify but not for the caller."""
        self.token = "py-test-" + secrets.token_hex(12)
        self.apps = demo_apps()
        self._dir = tempfile.TemporaryDirectory(prefix="py-client-test-")
        self.sim: Optional[Proc] = None
        self.gw: Optional[Proc] = None
        try:
            self.sim = Proc([NODE, "dist/simulator/main.js", "--host", "127.0.0.1", "--port", "0", *simulator_args])
            self.sim_url = json.loads(self.sim.wait_for_line(lambda l: l.startswith("{") and '"url"' in l))["url"]
            served = [app for app in self.apps if app["mode"] not in exclude_modes]
            env = {f"PY_TEST_APP_KEY_{i}": app["key"] for i, app in enumerate(served)}
            server: dict[str, Any] = {"listen": "127.0.0.1:0"}
            if tls:
                server["tls"] = tls
            config = {
                "server": server,
                # Suites run side by side: metrics on an ephemeral port, not the default 9464.
                "metrics": {"listen": "127.0.0.1:0"},
                "workspaces": [
                    {
                        "id": "ws-py",
                        "difyBaseUrl": self.sim_url,
                        "defaultUser": "ws-default-user",
                        "tokens": [{"sha256": hashlib.sha256(self.token.encode()).hexdigest()}],
                        "apps": [{"appId": app["appId"], "key": {"env": f"PY_TEST_APP_KEY_{i}"}} for i, app in enumerate(served)],
                    }
                ],
            }
            config_file = Path(self._dir.name) / "config.json"
            config_file.write_text(json.dumps(config, indent=2))
            self.gw = Proc([NODE, "dist/src/main.js", "--config", str(config_file)], env)
            self.target = f"127.0.0.1:{gateway_port(self.gw)}"
        except BaseException:
            self.stop()
            raise

    def app_id(self, mode: str) -> str:
        return next(app["appId"] for app in self.apps if app["mode"] == mode)

    def _control(self, method: str = "GET") -> Any:
        url = self.sim_url[: -len("/v1")] + "/__sim/requests"
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as res:
            body = res.read()
        return json.loads(body) if body else None

    def requests(self) -> list[dict[str, Any]]:
        """What the gateway sent the simulator (its stop calls included)."""
        return self._control()

    def reset(self) -> None:
        self._control("DELETE")

    def stop(self) -> None:
        for proc in (self.gw, self.sim):
            if proc:
                proc.stop()
        self._dir.cleanup()


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Retries `check` until it stops raising AssertionError; for effects after a call returns (stops)."""
    until = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > until:
                raise
            time.sleep(0.05)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key, made with openssl."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
