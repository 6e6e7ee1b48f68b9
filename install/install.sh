#!/bin/sh
# agentshell installer for Linux and macOS.
#
#   sh install/install.sh --from .            # from a checkout (installs the workspace backends too)
#   sh install/install.sh --from . --with-gguf
#   sh install/install.sh --uninstall
#
# It installs the distribution agentshell-cli (the `agent` command; `agentshell` on PyPI is an
# unrelated project) into its own environment. From a checkout with uv on PATH: the checkout's
# uv.lock synced into a virtual environment under the user data directory; a package or git URL with
# uv: `uv tool install`; without uv: pip in that virtual environment. `agent` is linked into
# ~/.local/bin only once a check has found this project there (docs/install.md).
# Running it again updates in place.
set -eu

MARKER="# added by the agentshell installer"
DIST="agentshell-cli"
SOURCE="${AGENTSHELL_SOURCE:-}"
WITH_GGUF=0
UNINSTALL=0
USE_UV=auto
MODIFY_PATH=1
PYTHON="${AGENTSHELL_PYTHON:-}"
# The workspace members agentshell-cli depends on, for pip, which does not read uv's workspace sources.
MEMBERS="backends/chatformat backends/ollama backends/builtin backends/openai backends/train packages/cli"

say() { printf '%s\n' "agentshell: $*"; }
die() { printf '%s\n' "agentshell: error: $*" >&2; exit 1; }

usage() {
    cat <<'EOF'
Install agentshell (the `agent` command) into its own environment.

Usage: install.sh [--with-gguf] [--from PATH_OR_URL] [--no-uv] [--python PY] [--no-modify-path]
       install.sh --uninstall

  --with-gguf       also install the llama.cpp backend (compiles llama.cpp: needs a C++ compiler and cmake)
  --from SRC        a local checkout, a wheel, a git URL (git+https://...) or a PyPI requirement
                    (default: $AGENTSHELL_SOURCE or "agentshell-cli" from PyPI, once it is published)
  --no-uv           use a virtual environment even when uv is installed
  --python PY       interpreter for the virtual environment (default: python3; needs 3.11+)
  --no-modify-path  do not add ~/.local/bin to PATH in your shell's startup file
  --uninstall       remove agentshell (your config and sessions are kept)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --with-gguf) WITH_GGUF=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --from) [ $# -ge 2 ] || die "--from needs a path or URL"; SOURCE="$2"; shift ;;
        --from=*) SOURCE="${1#--from=}" ;;
        --no-uv) USE_UV=no ;;
        --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON="$2"; shift ;;
        --no-modify-path) MODIFY_PATH=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
    shift
done

[ -n "${HOME:-}" ] || die "HOME is not set"

# Same places platformdirs uses, so `agent` and the installer agree.
case "$(uname -s)" in
    Darwin) DATA_DIR="$HOME/Library/Application Support/agentshell" ;;
    *) DATA_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/agentshell" ;;
esac
VENV="$DATA_DIR/venv"
BIN_DIR="${XDG_BIN_HOME:-$HOME/.local/bin}"

have() { command -v "$1" >/dev/null 2>&1; }

uv_wanted() { [ "$USE_UV" != no ] && have uv; }

# ---------------------------------------------------------------- what to install

# Resolve --from into one of: dir (a checkout), git (URL), spec (PyPI requirement or a wheel path).
FROM_GIVEN=1
[ -n "$SOURCE" ] || { SOURCE="$DIST"; FROM_GIVEN=0; }
KIND=spec
case "$SOURCE" in
    git+*|*.git) KIND=git ;;
    *)
        if [ -d "$SOURCE" ]; then
            [ -f "$SOURCE/packages/cli/pyproject.toml" ] || die "$SOURCE is not an agentshell checkout (no packages/cli/pyproject.toml)"
            SOURCE="$(cd "$SOURCE" && pwd)"
            KIND=dir
        fi
        ;;
esac
case "$KIND:$SOURCE" in git:git+*) ;; git:*) SOURCE="git+$SOURCE" ;; esac
EXTRA=""
[ "$WITH_GGUF" = 1 ] && EXTRA="[gguf]"

# The distribution a requirement or a wheel/sdist file name names, normalized (PEP 503).
spec_name() {
    case "$1" in
        *.whl) name="$(basename "$1")"; name="${name%%-*}" ;;
        *.tar.gz) name="$(basename "$1" .tar.gz)"; name="${name%-*}" ;;
        *) name="$(printf '%s' "$1" | sed 's/[][<>=!~;@ (].*//')" ;;
    esac
    printf '%s' "$name" | tr 'A-Z_.' 'a-z--'
}

# A requirement or a file that names another distribution is refused before anything is fetched.
check_source_name() {
    if [ "$KIND" = spec ] && [ "$(spec_name "$SOURCE")" != "$DIST" ]; then
        die "$SOURCE is not agentshell: this project's distribution is $DIST (the PyPI project named agentshell is unrelated)"
    fi
}

# Where to install from while agentshell-cli is not on PyPI: this checkout when the script runs from one.
where_from() {
    here=""
    case "$0" in *install.sh) here="$(cd "$(dirname "$0")/.." 2>/dev/null && pwd)" || here="" ;; esac
    if [ -n "$here" ] && [ -f "$here/packages/cli/pyproject.toml" ]; then
        printf '%s' "sh $here/install/install.sh --from $here"
    else
        printf '%s' "clone the agentshell repository, then: sh install/install.sh --from PATH_OF_THE_CLONE"
    fi
}

install_failed() {
    if [ "$FROM_GIVEN" = 0 ]; then
        die "$DIST could not be installed from PyPI: it is not published there yet. Install from a checkout: $(where_from)"
    fi
    die "$1 failed (see above)"
}

# ---------------------------------------------------------------- is it this project?

# Run by the environment's own Python: the distribution agentshell-cli is there, its `agent` script is
# agentshell's, and `agent --version` prints agentshell's banner ("agent " and agentshell-core's version).
# Anything else (the unrelated PyPI project named agentshell, another package's `agent`) is refused.
CHECK='
import importlib.metadata as md, os, subprocess, sys, sysconfig

def refuse(why):
    print("agentshell: " + why, file=sys.stderr)
    sys.exit(3)

try:
    cli, core = md.distribution("agentshell-cli"), md.distribution("agentshell-core")
except md.PackageNotFoundError as missing:
    refuse(f"the distribution {missing.name} is not there: what was installed is not agentshell")
scripts = [ep.value for ep in cli.entry_points if ep.group == "console_scripts" and ep.name == "agent"]
if scripts != ["agentshell.cli.app:main"]:
    refuse(f"agentshell-cli does not provide the agent command of agentshell ({scripts})")
agent = os.path.join(sysconfig.get_path("scripts"), "agent.exe" if os.name == "nt" else "agent")
want = "agent " + core.version
try:
    out = subprocess.run([agent, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
except OSError as err:
    refuse(f"its agent command does not start: {err}")
if out != want:
    refuse(f"agent --version printed {out[:80]!r}, not the banner of agentshell {want!r}")
'

# CHECK exits 3 when it refuses; anything else from `uv run` is a failure to install at all.
refuse() { die "refused $1: it is not agentshell (see the line above); nothing was linked"; }

# ---------------------------------------------------------------- uv tool names

# uv tool list prints "NAME vX.Y.Z"; an earlier agentshell installer named its tool "agentshell".
uv_tool_installed() { have uv && uv tool list 2>/dev/null | grep -q "^$1 "; }

# ---------------------------------------------------------------- PATH

rc_files() {
    printf '%s\n' "$HOME/.profile"
    [ -f "$HOME/.bashrc" ] || [ "$(basename "${SHELL:-sh}")" = bash ] && printf '%s\n' "$HOME/.bashrc"
    [ -f "$HOME/.zshrc" ] || [ "$(basename "${SHELL:-sh}")" = zsh ] && printf '%s\n' "$HOME/.zshrc"
    return 0
}

add_to_path() {
    case ":$PATH:" in *":$BIN_DIR:"*) return 0 ;; esac
    if [ "$MODIFY_PATH" = 0 ]; then
        say "add $BIN_DIR to your PATH to run agent"
        return 0
    fi
    line="export PATH=\"$BIN_DIR:\$PATH\" $MARKER"
    rc_files | while IFS= read -r rc; do
        if ! grep -qF "$MARKER" "$rc" 2>/dev/null; then
            printf '\n%s\n' "$line" >>"$rc"
            say "added $BIN_DIR to PATH in $rc"
        fi
    done
    if have fish || [ -d "$HOME/.config/fish" ]; then
        fish_conf="${XDG_CONFIG_HOME:-$HOME/.config}/fish/conf.d/agentshell.fish"
        mkdir -p "$(dirname "$fish_conf")"
        printf 'fish_add_path -g %s %s\n' "$BIN_DIR" "$MARKER" >"$fish_conf"
    fi
    say "open a new terminal (or run: export PATH=\"$BIN_DIR:\$PATH\") to use agent"
}

remove_from_path() {
    for rc in "$HOME/.profile" "$HOME/.bashrc" "$HOME/.zshrc"; do
        [ -f "$rc" ] && grep -qF "$MARKER" "$rc" || continue
        tmp="$rc.agentshell.$$"
        grep -vF "$MARKER" "$rc" >"$tmp" || true
        cat "$tmp" >"$rc" && rm -f "$tmp"   # cat keeps the file's owner and mode
    done
    rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/fish/conf.d/agentshell.fish"
}

# ---------------------------------------------------------------- uninstall

if [ "$UNINSTALL" = 1 ]; then
    removed=0
    if uv_tool_installed "$DIST"; then
        uv tool uninstall "$DIST" && removed=1
    fi
    if [ -L "$BIN_DIR/agent" ] && [ "$(readlink "$BIN_DIR/agent")" = "$VENV/bin/agent" ]; then
        rm -f "$BIN_DIR/agent"
    fi
    if [ -d "$VENV" ]; then
        rm -rf "$VENV" && removed=1
    fi
    remove_from_path
    if [ "$removed" = 1 ]; then
        say "uninstalled. Your config and sessions are kept (remove them yourself if you wish):"
        say "  config:   ${XDG_CONFIG_HOME:-$HOME/.config}/agentshell   data: $DATA_DIR"
    else
        say "agentshell is not installed; nothing to do"
    fi
    if uv_tool_installed agentshell; then
        say "a uv tool named agentshell is also installed (an earlier install, or the unrelated PyPI project):"
        say "  uv tool uninstall agentshell    removes it"
    fi
    exit 0
fi

# ---------------------------------------------------------------- link, once the check passed

# The environment at $VENV gets `agent` linked only when CHECK accepts it; otherwise it is removed,
# together with a link an earlier install left to it.
link_checked_venv() {
    rc=0
    "$VENV/bin/python" -c "$CHECK" || rc=$?
    if [ "$rc" != 0 ]; then
        rm -rf "$VENV"
        if [ -L "$BIN_DIR/agent" ] && [ "$(readlink "$BIN_DIR/agent")" = "$VENV/bin/agent" ]; then
            rm -f "$BIN_DIR/agent"
        fi
        refuse "$1"
    fi
    mkdir -p "$BIN_DIR"
    ln -sf "$VENV/bin/agent" "$BIN_DIR/agent"
}

# ---------------------------------------------------------------- a checkout, with uv

# The versions CI tested: the checkout's uv.lock, synced into $VENV (no editable links, so the install
# outlives the checkout), which also works offline from uv's cache.
install_checkout_with_uv() {
    [ -f "$SOURCE/uv.lock" ] || die "$SOURCE has no uv.lock: not an agentshell checkout"
    if uv_tool_installed "$DIST"; then
        uv tool uninstall "$DIST" >/dev/null   # one install at a time: the locked environment takes over
    fi
    set -- --extra gguf
    [ "$WITH_GGUF" = 1 ] || set --
    say "installing $DIST from $SOURCE (its uv.lock) into $VENV"
    rm -rf "$VENV"
    mkdir -p "$DATA_DIR"
    UV_PROJECT_ENVIRONMENT="$VENV" uv sync --project "$SOURCE" --frozen --no-editable \
        --package "$DIST" "$@" --python ">=3.11" --quiet || install_failed "uv sync"
    link_checked_venv "$SOURCE"
}

# ---------------------------------------------------------------- a package or git URL, with uv

install_with_uv() {
    case "$KIND" in
        git) spec="$DIST$EXTRA @ $SOURCE#subdirectory=packages/cli" ;;
        *) case "$SOURCE" in *.whl|*.tar.gz) spec="$SOURCE" ;; *) spec="$SOURCE$EXTRA" ;; esac ;;
    esac
    # uv tool install links `agent` as it installs, so the check runs first, in a throwaway environment
    # that uv builds from the same spec (the tool install then reuses its cache).
    say "checking $spec"
    rc=0
    uv run --isolated --no-project --quiet --python ">=3.11" --with "$spec" python -c "$CHECK" || rc=$?
    [ "$rc" = 3 ] && refuse "$spec"
    [ "$rc" = 0 ] || install_failed "installing $spec"
    say "installing $spec with uv tool"
    # A link to the environment of an earlier install would shadow the tool's entry point.
    if [ -L "$BIN_DIR/agent" ] && [ "$(readlink "$BIN_DIR/agent")" = "$VENV/bin/agent" ]; then
        rm -f "$BIN_DIR/agent"
        rm -rf "$VENV"
    fi
    uv tool install --force --python ">=3.11" "$spec" || install_failed "uv tool install"
    BIN_DIR="$(uv tool dir --bin 2>/dev/null || printf '%s' "$BIN_DIR")"
}

# ---------------------------------------------------------------- without uv: a virtual environment

find_python() {
    for candidate in "$PYTHON" python3 python3.13 python3.12 python3.11 python; do
        [ -n "$candidate" ] && have "$candidate" || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            printf '%s' "$candidate"
            return 0
        fi
    done
    return 1
}

# A function, not a variable: the macOS data directory has a space in it.
vpip() { "$VENV/bin/python" -m pip "$@"; }

install_with_venv() {
    if uv_tool_installed "$DIST"; then
        uv tool uninstall "$DIST" >/dev/null   # one install at a time: the venv takes over
    fi
    py="$(find_python)" || die "Python 3.11 or newer is needed (or install uv: https://docs.astral.sh/uv/)"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        rm -rf "$VENV"
        mkdir -p "$DATA_DIR"
        "$py" -m venv "$VENV" || die "cannot create a virtual environment with $py (on Debian/Ubuntu: apt install python3-venv)"
    fi
    vpip install --quiet --upgrade pip >/dev/null 2>&1 || true
    case "$KIND" in
        dir)
            # pip does not read uv's workspace sources: name every member of the checkout.
            set -- "$SOURCE"
            for m in $MEMBERS; do set -- "$@" "$SOURCE/$m"; done
            [ "$WITH_GGUF" = 1 ] && set -- "$@" "$SOURCE/backends/gguf"
            ;;
        git)
            set -- "agentshell-core @ $SOURCE"
            for m in $MEMBERS; do set -- "$@" "agentshell-$(basename "$m") @ $SOURCE#subdirectory=$m"; done
            [ "$WITH_GGUF" = 1 ] && set -- "$@" "agentshell-gguf @ $SOURCE#subdirectory=backends/gguf"
            ;;
        *) case "$SOURCE" in *.whl|*.tar.gz) set -- "$SOURCE" ;; *) set -- "$SOURCE$EXTRA" ;; esac ;;
    esac
    say "installing into $VENV"
    vpip install --quiet --upgrade "$@" || install_failed "pip install"
    link_checked_venv "$SOURCE"
}

check_source_name
if uv_wanted && [ "$KIND" = dir ]; then
    install_checkout_with_uv
elif uv_wanted; then
    install_with_uv
else
    install_with_venv
fi

[ -x "$BIN_DIR/agent" ] || die "agent was not found in $BIN_DIR after installing"
version="$("$BIN_DIR/agent" --version 2>/dev/null)" || die "the installed agent does not start; run $BIN_DIR/agent --version"
add_to_path
say "$version installed at $BIN_DIR/agent"
say "next: agent doctor    (checks your backends)    agent completion --install    (tab completion)"
