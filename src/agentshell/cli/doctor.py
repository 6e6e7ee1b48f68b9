"""``agent doctor``: can this machine run the agent, and if not, what to do about it.

It knows backends only through the registry and the protocol (``HealthCheck``
where a backend implements it, ``ConfigChecks`` for what the user configured for
it, the manifest's ``setup_hint`` as the fix, then one real chat turn and one tool
call), so a third-party backend is checked exactly like a shipped one. Every probe
runs under a deadline in a worker thread: a hung server must not hang the doctor.

Exit code: 0 when the default model can run, 1 when it cannot (or the config is
unreadable, or the model given to ``--model`` made no tool call at all, see
cli/probe.py), so scripts and CI can gate on it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from agentshell.protocol import Backend, DoctorCheck

if TYPE_CHECKING:
    from agentshell.config import Config, Settings
    from agentshell.registry import BackendPool

T = TypeVar("T")
Check = DoctorCheck  # one row; backends return the same rows from ConfigChecks

MIN_PYTHON = (3, 11)

SMOKE_TOOL = {
    "name": "get_time",
    "description": "Return the current time in a timezone. Always call this tool to learn the time.",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "IANA timezone name, e.g. UTC"}},
        "required": ["timezone"],
    },
}

app = typer.Typer(add_completion=False)


class Deadline(Exception):
    pass


def bounded(fn: Callable[[], T], seconds: float) -> T:
    """``fn()`` in a daemon thread; :class:`Deadline` if it has not returned in time (the thread is abandoned)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller as is
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise Deadline(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(detail, fix) from an exception: protocol errors carry their own hint."""
    from agentshell.protocol import BackendFailure

    if isinstance(exc, BackendFailure):
        return exc.message, exc.hint or ""
    if isinstance(exc, Deadline):
        return str(exc), "the backend is slow or hung; retry, or raise --timeout"
    return f"{type(exc).__name__}: {exc}", "this is a bug in the backend; please report it"


# --------------------------------------------------------------------------- the checks


def check_python() -> Check:
    version = ".".join(str(v) for v in sys.version_info[:3])
    if sys.version_info[:2] >= MIN_PYTHON:
        return Check("python", "ok", f"Python {version} at {sys.executable}")
    need = ".".join(map(str, MIN_PYTHON))
    fix = f"install Python {need}+ and reinstall agentshell-cli"
    return Check("python", "fail", f"Python {version} is too old", fix)


def check_config() -> tuple[Check, Config | None]:
    from agentshell.config import ConfigError, config_path, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        return Check("config", "fail", str(exc), f"fix or remove {config_path()}"), None
    where = f"{config.path} ({'found' if config.path and config.path.is_file() else 'not created, using defaults'})"
    return Check("config", "ok", where), config


def check_sandbox(settings: Settings) -> Check:
    """Whether bash calls can run in the OS sandbox, and whether they will (docs/tools-and-permissions.md#sandbox)."""
    from agentshell.api.sandboxing import wanted
    from agentshell.tools.sandbox import probe

    found = probe()
    want = wanted(settings)
    use = {True: "on (sandbox = true)", None: "on in yolo mode", False: "off (--sandbox turns it on)"}[want]
    if found.available:
        return Check("sandbox", "ok", f"{found.detail}; {use}")
    if want is True:
        return Check("sandbox", "fail", f"{found.detail}; sandbox = true, so agent launch refuses to start", found.fix)
    return Check("sandbox", "warn", f"{found.detail}; bash runs unconfined, yolo mode too", found.fix)


def setup_fix(name: str) -> str:
    """What the backend says to do when it cannot run (its manifest), for failures that carry no hint."""
    from agentshell.registry import manifest

    return manifest(name).setup_hint


def check_backend(pool: BackendPool, name: str, timeout: float) -> tuple[Check, Backend | None]:
    """Load the backend and ask its HealthCheck; returns the backend when it looks usable."""
    from agentshell.protocol import HealthCheck

    label = f"backend {name}"
    try:
        backend = pool.get(name)
    except Exception as exc:
        detail, fix = describe_error(exc)
        return Check(label, "warn", detail, fix or setup_fix(name)), None
    if not isinstance(backend, HealthCheck):
        return Check(label, "ok", "installed (no health check)"), backend
    try:
        usable, detail = bounded(backend.health, timeout)
    except Exception as exc:
        detail, fix = describe_error(exc)
        return Check(label, "warn", detail, fix or setup_fix(name)), None
    if usable:
        return Check(label, "ok", detail), backend
    return Check(label, "warn", detail, setup_fix(name)), None


def check_configured(pool: BackendPool, name: str, timeout: float) -> list[Check]:
    """The backend's own checks of what the user configured for it (``ConfigChecks``), if it has any."""
    from agentshell.protocol import ConfigChecks

    try:
        backend = pool.get(name)
    except Exception:
        return []  # its row says why it cannot be built
    if not isinstance(backend, ConfigChecks):
        return []
    try:
        return backend.config_checks(timeout)  # each probe has its own deadline
    except Exception as exc:
        detail, fix = describe_error(exc)
        return [Check(f"config of {name}", "warn", detail, fix)]


def pick_model(backend: Backend, default: tuple[Backend, str] | None, timeout: float) -> str | None:
    """The default model when it belongs to this backend, else the first it lists."""
    if default is not None and default[0] is backend:
        return default[1]
    models = bounded(backend.list_models, timeout)
    return models[0].name if models else None


def smoke(backend: Backend, model: str, timeout: float) -> list[Check]:
    """One chat turn and one tool call, each under ``timeout``."""
    from agentshell.protocol import ChatOptions, Done, Message, TextDelta, ToolCall, ToolSpec

    target = f"{backend.name}:{model}" if not model.startswith(f"{backend.name}:") else model

    def turn(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> tuple[str, list[str], float]:
        started = time.perf_counter()
        text: list[str] = []
        calls: list[str] = []
        stream = backend.chat(model, messages, tools=tools, options=ChatOptions(temperature=0.0, max_tokens=48))
        try:
            for event in stream:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, ToolCall):
                    calls.append(event.name)
                elif isinstance(event, Done):
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return "".join(text), calls, time.perf_counter() - started

    checks: list[Check] = []
    try:
        text, _, seconds = bounded(
            lambda: turn([Message(role="user", content="Reply with one word: ready")], ()), timeout
        )
        preview = " ".join(text.split())[:40]
        checks.append(Check(f"chat {target}", "ok", f"answered in {seconds:.1f} s: {preview!r}"))
    except Exception as exc:
        detail, fix = describe_error(exc)
        checks.append(Check(f"chat {target}", "fail", detail, fix))
        return checks
    tool = ToolSpec.model_validate(SMOKE_TOOL)
    ask = [
        Message(role="system", content="You are a helpful assistant that uses tools."),
        Message(role="user", content="What time is it in UTC? Use the get_time tool."),
    ]
    try:
        _, calls, seconds = bounded(lambda: turn(ask, [tool]), timeout)
    except Exception as exc:
        detail, fix = describe_error(exc)
        checks.append(Check(f"tool call {target}", "fail", detail, fix))
        return checks
    if calls:
        checks.append(Check(f"tool call {target}", "ok", f"called {', '.join(calls)} in {seconds:.1f} s"))
    else:
        checks.append(
            Check(
                f"tool call {target}",
                "warn",
                "the model answered without calling the tool",
                "small models often do; pick a larger or tool-trained model for agent work",
            )
        )
    return checks


# --------------------------------------------------------------------------- the run


def diagnose(only: Sequence[str], run_smoke: bool, timeout: float) -> tuple[list[Check], bool, str]:
    """All checks, whether the default model can run, and the default model string."""
    from agentshell.registry import backend_names, install_hint

    checks = [check_python()]
    config_check, config = check_config()
    checks.append(config_check)
    if config is None:
        return checks, False, ""
    settings = config.settings
    checks.append(check_sandbox(settings))
    options = config.backend_options()
    pool = config.backend_pool()
    default: tuple[Backend, str] | None = None
    default_error: Check | None = None
    try:
        default = pool.resolve(settings.model, settings.backend)
    except Exception as exc:
        detail, fix = describe_error(exc)
        default_error = Check("default model", "fail", f"{settings.model}: {detail}", fix)
    installed = backend_names()
    names = [n for n in installed if not only or n in only or (default is not None and default[0].name == n)]
    for missing in sorted(set(only) - set(installed)):
        checks.append(Check(f"backend {missing}", "fail", "not installed", install_hint(missing)))
    usable: dict[str, Backend] = {}
    for name in names:
        check, backend = check_backend(pool, name, timeout)
        checks.append(check)
        if backend is not None:
            usable[name] = backend
    for name in installed:  # what the user configured is checked whichever backends --backend selects
        if options.get(name):
            checks.extend(check_configured(pool, name, timeout))

    default_ok = default is not None
    if default_error is not None:
        checks.append(default_error)
    elif default is not None:
        backend, model = default
        if backend.name in installed and backend.name not in usable:
            checks.append(
                Check(
                    "default model",
                    "fail",
                    f"{settings.model}: its backend {backend.name!r} cannot run",
                    "see the backend row above",
                )
            )
            default_ok = False
        else:
            checks.append(Check("default model", "ok", f"{settings.model} (backend {backend.name}, model {model})"))

    if run_smoke:
        for name, backend in usable.items():
            try:
                model_name = pick_model(backend, default, timeout)
            except Exception as exc:
                detail, fix = describe_error(exc)
                checks.append(Check(f"chat {name}", "skip", f"cannot list models: {detail}", fix))
                continue
            if model_name is None:
                checks.append(Check(f"chat {name}", "skip", "no model to test", ""))
                continue
            results = smoke(backend, model_name, timeout)
            checks.extend(results)
            if default is not None and default[0] is backend and results[0].status == "fail":
                default_ok = False
    return checks, default_ok, settings.model


MARKS = {"ok": "[green]✓ ok[/]", "warn": "[yellow]! warn[/]", "fail": "[red]✗ fail[/]", "skip": "[dim]- skip[/]"}


def render(checks: Sequence[Check], default_ok: bool, model: str) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    # 80 columns: no vertical rules, the fix gets room (OPENAI_BASE_URL whole), paths and URLs fold, never cut.
    table = Table(title="agent doctor", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_lines=False)
    table.add_column("check", overflow="fold", max_width=16)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=3)
    table.add_column("fix", overflow="fold", ratio=2, min_width=22)
    for check in checks:
        table.add_row(escape(check.name), MARKS[check.status], escape(check.detail), escape(check.fix))
    console.print(table)
    if default_ok:
        console.print(f"[green]The default model {escape(repr(model))} can run.[/]")
    elif model:
        console.print(f"[red]The default model {escape(repr(model))} cannot run; see the fixes above.[/]")
    else:
        console.print("[red]The configuration cannot be read; see the fix above.[/]")


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON, for scripts.")] = False,
    backend: Annotated[
        list[str] | None, typer.Option("--backend", "-b", help="Check only this backend (repeatable).")
    ] = None,
    run_smoke: Annotated[
        bool, typer.Option("--smoke/--no-smoke", help="Run one chat turn and one tool call on each usable backend.")
    ] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed for each probe and smoke turn.")] = 60.0,
    probe_model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Also send this model a fixed set of tool-call requests and count the calls that come back "
            "native, recovered from text, or not at all.",
        ),
    ] = None,
) -> None:
    """Check Python, the config and every backend, then try a chat turn and a tool call on each usable one."""
    checks, default_ok, model = diagnose(tuple(backend or ()), run_smoke, timeout)
    if probe_model:
        from agentshell.cli.probe import probe_check  # see cli/probe.py

        checks.append(probe_check(probe_model, timeout))
    probe_failed = bool(probe_model) and checks[-1].status == "fail"
    if as_json:
        payload = {"ok": default_ok, "default_model": model, "checks": [asdict(c) for c in checks]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        render(checks, default_ok, model)
    raise typer.Exit(0 if default_ok and not probe_failed else 1)
