"""Streamable HTTP: a server built with the SDK's own server API, on 127.0.0.1, behind a bearer token."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentshell.extensions.mcp_config import MissingVariable, resolve
from agentshell.extensions.settings import McpServerConfig
from tests.extensions.mcp_servers import BIG, serve_http
from tests.extensions.support import make_hub, make_runner

TOKEN = "s3cret-test-token-1234"


def test_a_call_round_trip_with_a_token_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MCP_TOKEN", TOKEN)
    with serve_http(TOKEN) as url:
        servers = {
            "web": McpServerConfig(url=url, bearer_token_env_var="TEST_MCP_TOKEN"),
            "hdr": McpServerConfig(url=url, headers={"Authorization": "Bearer ${TEST_MCP_TOKEN}"}),
        }
        hub = make_hub(servers, tmp_path)
        try:
            runner = make_runner(hub, tmp_path)
            assert not runner.execute("mcp__web__echo", {"text": "over http"}).is_error
            assert runner.execute("mcp__hdr__echo", {"text": "again"}).output == "echo: again"
            big = runner.execute("mcp__web__big", {})
            assert not big.is_error and len(big.output) < 40_000 and f"{BIG // 100 * 100} bytes" in big.summary
            assert "mcp__web__review" not in runner.tools  # prompts are not tools
            assert [p.name for p in hub.servers["web"].prompts] == ["review"]
        finally:
            hub.close()


def test_a_wrong_token_is_one_notice(tmp_path: Path) -> None:
    with serve_http(TOKEN) as url:
        hub = make_hub({"web": McpServerConfig(url=url, headers={"Authorization": "Bearer nope"})}, tmp_path)
        notices: list[str] = []
        runner = make_runner(hub, tmp_path, notices=notices)
        try:
            assert not any(spec.name.startswith("mcp__") for spec in runner.specs())
            assert len(notices) == 1 and notices[0].startswith("warning: MCP server web could not start"), notices
        finally:
            hub.close()


def test_a_missing_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    config = McpServerConfig(url="http://127.0.0.1:9/mcp", bearer_token_env_var="NOT_SET_ANYWHERE")
    with pytest.raises(MissingVariable, match="NOT_SET_ANYWHERE"):
        resolve("web", config, tmp_path)
    with_default = McpServerConfig(command="x", args=["${NOT_SET_ANYWHERE:-fallback}"])
    assert resolve("x", with_default, tmp_path).args == ["fallback"]
