#!/bin/sh
# agentshell installer for Linux and macOS.
#
#   curl -fsSL https://raw.githubusercontent.com/agentshell/agentshell/main/install/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- --with-gguf
#   sh install/install.sh --from .            # from a checkout (installs the workspace backends too)
#   sh install/install.sh --uninstall
#
# agentshell goes into its own environment: `uv tool install` when uv is on PATH,
# otherwise a virtual environment under the user data directory plus an `agent`
# link in ~/.local/bin. Running it again updates in place.
set -eu

MARKER="# added by the agentshell installer"
SOURCE="${AGENTSHELL_SOURCE:-agentshell}"
WITH_GGUF=0
UNINSTALL=0
USE_UV=auto
MODIFY_PATH=1
PYTHON="${AGENTSHELL_PYTHON:-}"
BACKENDS="chatformat ollama builtin openai"

say() { printf '%s\n' "agentshell: $*"; }
die() { printf '%s\n' "agentshell: error: $*" >&2; exit 1; }

usage() {
    cat <<'EOF'
Install agentshell (the `agent` command) into its own environment.

Usage: install.sh [--with-gguf] [--from PATH_OR_URL] [--no-uv] [--python PY] [--no-modify-path]
       install.sh --uninstall

  --with-gguf       also install the llama.cpp backend (compiles llama.cpp: needs a C++ compiler and cmake)
  --from SRC        a local checkout, a wheel, a git URL (git+https://...) or a PyPI requirement
                    (default: $AGENTSHELL_SOURCE or "agentshell" from PyPI)
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
KIND=spec
case "$SOURCE" in
    git+*|*.git) KIND=git ;;
    *)
        if [ -d "$SOURCE" ]; then
            [ -f "$SOURCE/pyproject.toml" ] || die "$SOURCE has no pyproject.toml: not an agentshell checkout"
            SOURCE="$(cd "$SOURCE" && pwd)"
            KIND=dir
        fi
        ;;
esac
case "$KIND:$SOURCE" in git:git+*) ;; git:*) SOURCE="git+$SOURCE" ;; esac
EXTRA=""
[ "$WITH_GGUF" = 1 ] && EXTRA="[gguf]"

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
    if have uv && uv tool list 2>/dev/null | grep -q '^agentshell '; then
        uv tool uninstall agentshell && removed=1
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
    exit 0
fi

# ---------------------------------------------------------------- install with uv

install_with_uv() {
    case "$KIND" in
        dir) spec="agentshell$EXTRA @ file://$SOURCE" ;;   # uv installs the workspace backends from the same tree
        git) spec="agentshell$EXTRA @ $SOURCE" ;;
        *) case "$SOURCE" in *.whl|*.tar.gz) spec="$SOURCE" ;; *) spec="$SOURCE$EXTRA" ;; esac ;;
    esac
    say "installing $spec with uv tool"
    # A venv-mode link from an earlier install would shadow the tool's entry point.
    if [ -L "$BIN_DIR/agent" ] && [ "$(readlink "$BIN_DIR/agent")" = "$VENV/bin/agent" ]; then
        rm -f "$BIN_DIR/agent"
        rm -rf "$VENV"
    fi
    uv tool install --force --python ">=3.11" "$spec" || die "uv tool install failed (see above)"
    BIN_DIR="$(uv tool dir --bin 2>/dev/null || printf '%s' "$BIN_DIR")"
}

# ---------------------------------------------------------------- install with a virtual environment

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
    if have uv && uv tool list 2>/dev/null | grep -q '^agentshell '; then
        uv tool uninstall agentshell >/dev/null   # one install at a time: the venv takes over
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
            for b in $BACKENDS; do set -- "$@" "$SOURCE/backends/$b"; done
            [ "$WITH_GGUF" = 1 ] && set -- "$@" "$SOURCE/backends/gguf"
            ;;
        git)
            set -- "agentshell @ $SOURCE"
            for b in $BACKENDS; do set -- "$@" "agentshell-$b @ $SOURCE#subdirectory=backends/$b"; done
            [ "$WITH_GGUF" = 1 ] && set -- "$@" "agentshell-gguf @ $SOURCE#subdirectory=backends/gguf"
            ;;
        *) case "$SOURCE" in *.whl|*.tar.gz) set -- "$SOURCE" ;; *) set -- "$SOURCE$EXTRA" ;; esac ;;
    esac
    say "installing into $VENV"
    vpip install --quiet --upgrade "$@" || die "pip install failed (see above)"
    mkdir -p "$BIN_DIR"
    ln -sf "$VENV/bin/agent" "$BIN_DIR/agent"
}

if uv_wanted; then
    install_with_uv
else
    install_with_venv
fi

[ -x "$BIN_DIR/agent" ] || die "agent was not found in $BIN_DIR after installing"
version="$("$BIN_DIR/agent" --version 2>/dev/null)" || die "the installed agent does not start; run $BIN_DIR/agent --version"
add_to_path
say "$version installed at $BIN_DIR/agent"
say "next: agent doctor    (checks your backends)    agent completion --install    (tab completion)"
