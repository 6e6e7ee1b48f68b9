"""``--sandbox-allow-net HOST``: the one way out of the sandbox's network namespace, for HTTP and HTTPS only.

bubblewrap can cut the network off or leave it whole; it cannot filter by host. So the sandbox keeps
its empty network namespace and the agent runs a small HTTP proxy outside it, on a Unix socket bound
into the sandbox. Inside, a bridge (:data:`BRIDGE`, run by the agent's own Python before the command)
listens on ``127.0.0.1:3128`` and relays to that socket, and ``http_proxy``/``https_proxy`` point there.
The proxy connects only to allowed hosts (``CONNECT host:443`` for HTTPS, absolute URIs for HTTP).

Limits, said plainly in docs/tools-and-permissions.md: only programs that honour the proxy variables
(curl, pip, uv, git over HTTPS, npm...) get through; anything else (ssh, raw TCP, DNS lookups) has no
network at all. The host is the name the client asks for; the proxy resolves it outside the sandbox.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

BRIDGE_PORT = 3128
_MAX_HEAD = 64 * 1024
_CONNECT_TIMEOUT = 15.0

# Runs inside the sandbox (``python -I -c BRIDGE SOCKET PORT ARGV...``): relays 127.0.0.1:PORT to the
# proxy's Unix socket while ARGV runs, and exits as ARGV did. Standard library only.
BRIDGE = r"""
import os, signal, socket, subprocess, sys, threading
path, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
def serve():
    while True:
        client, _ = srv.accept()
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
child = subprocess.Popen(argv)
code = child.wait()
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def host_allowed(rules: Sequence[str], host: str, port: int) -> bool:
    """``example.com`` (any port), ``example.com:443``, ``*.example.com`` (the domain and every subdomain)."""
    host = host.lower().rstrip(".")
    for rule in rules:
        name, _, rule_port = rule.lower().rpartition(":") if _has_port(rule) else (rule.lower(), "", "")
        if rule_port and rule_port != str(port):
            continue
        if name.startswith("*."):
            if host == name[2:] or host.endswith(name[1:]):
                return True
        elif host == name.strip("[]"):
            return True
    return False


def _has_port(rule: str) -> bool:
    head, sep, tail = rule.rpartition(":")
    return bool(sep) and tail.isdigit() and (not head.startswith("[") or head.endswith("]")) and ":" not in head


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(_CONNECT_TIMEOUT)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk or len(head) > _MAX_HEAD:
                return
            head += chunk
        client.settimeout(None)
        line, _, rest = head.partition(b"\r\n")
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            return self._refuse(client, 400, "bad request line")
        method, target, version = parts
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host, port = host.strip("[]"), int(port_text) if port_text.isdigit() else 443
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                return self._refuse(client, 400, "only http:// URLs and CONNECT go through this proxy")
            host, port = url.hostname, url.port or 80
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            head = f"{method} {path} {version}".encode("latin-1") + b"\r\n" + rest
        if not host_allowed(self.server.rules, host, port):
            return self._refuse(client, 403, f"{host} is not allowed by --sandbox-allow-net")
        try:
            upstream = socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT)
        except OSError as exc:
            return self._refuse(client, 502, f"cannot reach {host}:{port}: {exc.strerror or exc}")
        upstream.settimeout(None)
        with upstream:
            if method.upper() == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _, _, early = head.partition(b"\r\n\r\n")  # bytes the client sent after the CONNECT head
                if early:
                    upstream.sendall(early)
            else:
                upstream.sendall(head)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()

    @staticmethod
    def _refuse(client: socket.socket, status: int, why: str) -> None:
        body = f"agentshell sandbox: {why}\n".encode()
        reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
        with contextlib.suppress(OSError):
            client.sendall(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + body
            )


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class _Server(socketserver.ThreadingMixIn, socketserver.BaseServer):
    daemon_threads = True
    rules: tuple[str, ...] = ()


class _UnixServer(_Server, socketserver.UnixStreamServer):
    pass


class _TCPServer(_Server, socketserver.TCPServer):
    pass


class NetProxy:
    """The proxy of one run: started here, serving in a daemon thread until :meth:`close`."""

    def __init__(self, rules: Sequence[str], *, tcp: bool = False) -> None:
        self.socket_dir = Path(tempfile.mkdtemp(prefix="agentshell-net-"))
        atexit.register(shutil.rmtree, self.socket_dir, True)  # no socket left in /tmp by a run that never closed
        self.socket_path = self.socket_dir / "proxy.sock"
        self.tcp_port: int | None = None
        server: _Server
        if tcp:  # macOS: sandbox-exec keeps the host's network, and lets the command reach only this port
            server = _TCPServer(("127.0.0.1", 0), _Handler)
            self.tcp_port = int(server.server_address[1])
        else:
            server = _UnixServer(str(self.socket_path), _Handler)
            self.socket_path.chmod(0o666)  # the sandboxed command may run as another user (userns mapping)
        server.rules = tuple(rules)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="sandbox-net-proxy", daemon=True)
        self._thread.start()

    def client_env(self) -> dict[str, str]:
        """What tells programs inside the sandbox to use the proxy (curl, pip and git read the lower case)."""
        port = self.tcp_port or BRIDGE_PORT
        url = f"http://127.0.0.1:{port}"
        names = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
        return {**dict.fromkeys(names, url), "no_proxy": "", "NO_PROXY": ""}

    def bridge_argv(self, argv: Sequence[str]) -> list[str]:
        return [sys.executable, "-I", "-c", BRIDGE, str(self.socket_path), str(BRIDGE_PORT), *argv]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
