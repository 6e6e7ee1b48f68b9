<#
.SYNOPSIS
    agentshell installer for Windows.

.DESCRIPTION
    Installs the distribution agentshell-cli (the `agent` command; `agentshell` on PyPI is an
    unrelated project) into its own environment. From a checkout with uv on PATH: the checkout's
    uv.lock synced into a virtual environment under %LOCALAPPDATA%\agentshell; a package or git URL
    with uv: `uv tool install`; without uv: pip in that virtual environment, with an `agent.cmd`
    shim in %USERPROFILE%\.local\bin, which is added to the user PATH. The shim is written only once
    a check has found this project there (docs/install.md). Running it again updates in place.

    .\install\install.ps1 -From .          # from a checkout

    Options cannot be passed through `| iex`; use environment variables instead
    ($env:AGENTSHELL_WITH_GGUF = "1"; $env:AGENTSHELL_SOURCE = "..."; $env:AGENTSHELL_UNINSTALL = "1"),
    or run it as a script block:

    & ([scriptblock]::Create((irm https://.../install.ps1))) -WithGguf

.PARAMETER WithGguf
    Also install the llama.cpp backend (compiles llama.cpp: needs Visual Studio Build Tools and CMake).
.PARAMETER From
    A local checkout, a wheel, a git URL (git+https://...) or a PyPI requirement.
    Default: agentshell-cli from PyPI, once it is published.
.PARAMETER NoUv
    Use a virtual environment even when uv is installed.
.PARAMETER NoModifyPath
    Do not add the shim directory to the user PATH.
.PARAMETER Uninstall
    Remove agentshell. Your config and sessions are kept.
#>
[CmdletBinding()]
param(
    [switch]$WithGguf,
    [string]$From = "",
    [switch]$NoUv,
    [switch]$NoModifyPath,
    [switch]$Uninstall
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Dist = "agentshell-cli"

function Say([string]$Text) { Write-Host "agentshell: $Text" }
function Fail([string]$Text) {
    Write-Host "agentshell: error: $Text" -ForegroundColor Red
    # `exit` would close the user's window under `irm | iex`; throw ends only this script.
    throw "agentshell: $Text"
}
function Have([string]$Name) { [bool](Get-Command $Name -ErrorAction SilentlyContinue) }
function Truthy([string]$Value) { $Value -and $Value -notin @("0", "false", "no", "off") }

if (Truthy $env:AGENTSHELL_WITH_GGUF) { $WithGguf = $true }
if (Truthy $env:AGENTSHELL_UNINSTALL) { $Uninstall = $true }
if (-not $From -and $env:AGENTSHELL_SOURCE) { $From = $env:AGENTSHELL_SOURCE }
$FromGiven = [bool]$From
if (-not $FromGiven) { $From = $Dist }

# Same place platformdirs uses for user_data_dir("agentshell", appauthor=False).
$DataDir = Join-Path $env:LOCALAPPDATA "agentshell"
$Venv = Join-Path $DataDir "venv"
$BinDir = Join-Path $env:USERPROFILE ".local\bin"
$Shim = Join-Path $BinDir "agent.cmd"
# The workspace members agentshell-cli depends on, for pip, which does not read uv's workspace sources.
$Members = @("backends/chatformat", "backends/ollama", "backends/builtin", "backends/openai", "backends/train", "packages/cli")
$Extra = if ($WithGguf) { "[gguf]" } else { "" }

# ------------------------------------------------------------------ what to install
$Kind = "spec"
if ($From -like "git+*" -or $From -like "*.git") {
    $Kind = "git"
    if ($From -notlike "git+*") { $From = "git+$From" }
} elseif (Test-Path -LiteralPath $From -PathType Container) {
    if (-not (Test-Path -LiteralPath (Join-Path $From "packages\cli\pyproject.toml"))) {
        Fail "$From is not an agentshell checkout (no packages\cli\pyproject.toml)"
    }
    $From = (Resolve-Path -LiteralPath $From).Path
    $Kind = "dir"
}

# The distribution a requirement or a wheel/sdist file name names, normalized (PEP 503).
function Get-SpecName([string]$Spec) {
    $leaf = Split-Path -Leaf $Spec
    if ($Spec -like "*.whl") { $name = ($leaf -split "-")[0] }
    elseif ($Spec -like "*.tar.gz") { $name = $leaf.Substring(0, $leaf.Length - 7) -replace "-[^-]*$", "" }
    else { $name = ($Spec -split "[\[\]<>=!~;@ (]")[0] }
    return ($name.ToLower() -replace "[_.]", "-")
}

function Confirm-SourceName {
    if ($Kind -eq "spec" -and (Get-SpecName $From) -ne $Dist) {
        Fail "$From is not agentshell: this project's distribution is $Dist (the PyPI project named agentshell is unrelated)"
    }
}

# Where to install from while agentshell-cli is not on PyPI: this checkout when the script runs from one.
function Get-WhereFrom {
    if ($PSScriptRoot) {
        $here = Split-Path -Parent $PSScriptRoot
        if (Test-Path -LiteralPath (Join-Path $here "packages\cli\pyproject.toml")) { return "& '$PSScriptRoot\install.ps1' -From '$here'" }
    }
    return "clone the agentshell repository, then: .\install\install.ps1 -From PATH_OF_THE_CLONE"
}

function Fail-Install([string]$What) {
    if (-not $FromGiven) { Fail "$Dist could not be installed from PyPI: it is not published there yet. Install from a checkout: $(Get-WhereFrom)" }
    Fail "$What failed (see above)"
}

# ------------------------------------------------------------------ is it this project?
# Run by the environment's own Python: the distribution agentshell-cli is there, its `agent` script is
# agentshell's, and `agent --version` prints agentshell's banner ("agent " and agentshell-core's version).
# Anything else (the unrelated PyPI project named agentshell, another package's `agent`) exits 3.
# Kept in a file: Windows PowerShell mangles quotes in arguments to native commands.
$Check = @'
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
'@

function Write-CheckFile {
    $path = Join-Path ([IO.Path]::GetTempPath()) "agentshell-install-check-$PID.py"
    Set-Content -LiteralPath $path -Encoding UTF8 -Value $Check
    return $path
}

function Refuse([string]$What) { Fail "refused ${What}: it is not agentshell (see the line above); nothing was linked" }

# uv tool list prints "NAME vX.Y.Z"; an earlier agentshell installer named its tool "agentshell".
function Test-UvTool([string]$Name = $Dist) {
    if (-not (Have "uv")) { return $false }
    $list = & uv tool list 2>$null
    return [bool]($list | Select-String -Pattern "^$([regex]::Escape($Name)) " -Quiet)
}

# ------------------------------------------------------------------ PATH (user scope, persistent)
function Add-UserPath([string]$Dir) {
    $current = [Environment]::GetEnvironmentVariable("Path", "User")
    $parts = @($current -split ";" | Where-Object { $_ })
    if ($parts -contains $Dir) { return }
    if ($NoModifyPath) { Say "add $Dir to your PATH to run agent"; return }
    [Environment]::SetEnvironmentVariable("Path", (($parts + $Dir) -join ";"), "User")
    $env:Path = "$Dir;$env:Path"
    Say "added $Dir to your user PATH (new terminals will see it)"
}

function Remove-UserPath([string]$Dir) {
    $current = [Environment]::GetEnvironmentVariable("Path", "User")
    if (-not $current) { return }
    $parts = @($current -split ";" | Where-Object { $_ -and $_ -ne $Dir })
    [Environment]::SetEnvironmentVariable("Path", ($parts -join ";"), "User")
}

# ------------------------------------------------------------------ uninstall
if ($Uninstall) {
    $removed = $false
    if (Test-UvTool) { & uv tool uninstall $Dist; $removed = $true }
    if (Test-Path -LiteralPath $Shim) { Remove-Item -LiteralPath $Shim -Force }
    if (Test-Path -LiteralPath $Venv) { Remove-Item -LiteralPath $Venv -Recurse -Force; $removed = $true }
    if (-not (Get-ChildItem -LiteralPath $BinDir -ErrorAction SilentlyContinue)) { Remove-UserPath $BinDir }
    if ($removed) {
        Say "uninstalled. Your config and sessions are kept in $DataDir and $env:APPDATA\agentshell"
    } else {
        Say "agentshell is not installed; nothing to do"
    }
    if (Test-UvTool "agentshell") {
        Say "a uv tool named agentshell is also installed (an earlier install, or the unrelated PyPI project):"
        Say "  uv tool uninstall agentshell    removes it"
    }
    return
}

# ------------------------------------------------------------------ the shim, once the check passed
# The environment at $Venv gets its shim only when the check accepts it; otherwise it is removed, with
# the shim an earlier install left to it.
function Set-CheckedShim([string]$What) {
    $venvPython = Join-Path $Venv "Scripts\python.exe"
    $checkFile = Write-CheckFile
    try { & $venvPython $checkFile | Out-Host; $rc = $LASTEXITCODE } finally { Remove-Item -LiteralPath $checkFile -Force }
    if ($rc -ne 0) {
        if (Test-Path -LiteralPath $Shim) { Remove-Item -LiteralPath $Shim -Force }
        Remove-Item -LiteralPath $Venv -Recurse -Force
        Refuse $What
    }
    New-Item -ItemType Directory -Force -Path $BinDir | Out-Null
    $exe = Join-Path $Venv "Scripts\agent.exe"
    Set-Content -LiteralPath $Shim -Encoding ASCII -Value "@echo off`r`n""$exe"" %*"
    return $Shim
}

# ------------------------------------------------------------------ a checkout, with uv
# The versions CI tested: the checkout's uv.lock, synced into $Venv (no editable links, so the install
# outlives the checkout), which also works offline from uv's cache.
function Install-CheckoutWithUv {
    if (-not (Test-Path -LiteralPath (Join-Path $From "uv.lock"))) { Fail "$From has no uv.lock: not an agentshell checkout" }
    if (Test-UvTool) { & uv tool uninstall $Dist | Out-Null }   # one install at a time
    Say "installing $Dist from $From (its uv.lock) into $Venv"
    if (Test-Path -LiteralPath $Venv) { Remove-Item -LiteralPath $Venv -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
    $extraArgs = @(if ($WithGguf) { "--extra", "gguf" })
    $env:UV_PROJECT_ENVIRONMENT = $Venv
    try {
        & uv sync --project $From --frozen --no-editable --package $Dist @extraArgs --python ">=3.11" --quiet | Out-Host
        if ($LASTEXITCODE -ne 0) { Fail-Install "uv sync" }
    } finally { Remove-Item Env:UV_PROJECT_ENVIRONMENT }
    return (Set-CheckedShim $From)
}

# ------------------------------------------------------------------ a package or git URL, with uv
function Install-WithUv {
    switch ($Kind) {
        "git" { $spec = "$Dist$Extra @ $From#subdirectory=packages/cli" }
        default { $spec = if ($From -like "*.whl" -or $From -like "*.tar.gz") { $From } else { "$From$Extra" } }
    }
    # uv tool install links `agent` as it installs, so the check runs first, in a throwaway environment
    # that uv builds from the same spec (the tool install then reuses its cache).
    Say "checking $spec"
    $checkFile = Write-CheckFile
    try {
        & uv run --isolated --no-project --quiet --python ">=3.11" --with $spec python $checkFile | Out-Host
        $rc = $LASTEXITCODE
    } finally { Remove-Item -LiteralPath $checkFile -Force }
    if ($rc -eq 3) { Refuse $spec }
    if ($rc -ne 0) { Fail-Install "installing $spec" }
    Say "installing $spec with uv tool"
    if (Test-Path -LiteralPath $Shim) { Remove-Item -LiteralPath $Shim -Force }
    if (Test-Path -LiteralPath $Venv) { Remove-Item -LiteralPath $Venv -Recurse -Force }
    & uv tool install --force --python ">=3.11" $spec | Out-Host
    if ($LASTEXITCODE -ne 0) { Fail-Install "uv tool install" }
    $dir = (& uv tool dir --bin 2>$null)
    if ($LASTEXITCODE -eq 0 -and $dir) { $script:BinDir = $dir.Trim() }
    return (Join-Path $script:BinDir "agent.exe")
}

# ------------------------------------------------------------------ without uv: a virtual environment
function Find-Python {
    foreach ($candidate in @(@("py", "-3"), @("python"), @("python3"))) {
        if (-not (Have $candidate[0])) { continue }
        $rest = @($candidate | Select-Object -Skip 1)
        & $candidate[0] @rest -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" 2>$null
        if ($LASTEXITCODE -eq 0) { return ,$candidate }
    }
    return $null
}

function Install-WithVenv {
    if (Test-UvTool) { & uv tool uninstall $Dist | Out-Null }   # one install at a time
    $python = Find-Python
    if (-not $python) { Fail "Python 3.11 or newer is needed (https://www.python.org/downloads/ or install uv)" }
    $venvPython = Join-Path $Venv "Scripts\python.exe"
    if (-not (Test-Path -LiteralPath $venvPython)) {
        New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
        $pyArgs = @($python | Select-Object -Skip 1)
        & $python[0] @pyArgs -m venv $Venv
        if ($LASTEXITCODE -ne 0) { Fail "cannot create a virtual environment in $Venv" }
    }
    switch ($Kind) {
        "dir" {
            # pip does not read uv's workspace sources: name every member of the checkout.
            $targets = @($From) + ($Members | ForEach-Object { Join-Path $From $_ })
            if ($WithGguf) { $targets += (Join-Path $From "backends\gguf") }
        }
        "git" {
            $targets = @("agentshell-core @ $From") + ($Members | ForEach-Object { "agentshell-$(Split-Path -Leaf $_) @ $From#subdirectory=$_" })
            if ($WithGguf) { $targets += "agentshell-gguf @ $From#subdirectory=backends/gguf" }
        }
        default { $targets = @(if ($From -like "*.whl" -or $From -like "*.tar.gz") { $From } else { "$From$Extra" }) }
    }
    Say "installing into $Venv"
    & $venvPython -m pip install --quiet --upgrade pip 2>$null | Out-Null
    & $venvPython -m pip install --quiet --upgrade @targets | Out-Host
    if ($LASTEXITCODE -ne 0) { Fail-Install "pip install" }
    return (Set-CheckedShim $From)
}

Confirm-SourceName
$useUv = (Have "uv") -and -not $NoUv
if ($useUv -and $Kind -eq "dir") { $agent = Install-CheckoutWithUv }
elseif ($useUv) { $agent = Install-WithUv }
else { $agent = Install-WithVenv }

if (-not (Test-Path -LiteralPath $agent)) { Fail "agent was not found at $agent after installing" }
$version = & $agent --version
if ($LASTEXITCODE -ne 0) { Fail "the installed agent does not start; run $agent --version" }
Add-UserPath $BinDir
Say "$version installed at $agent"
Say "next: agent doctor    (checks your backends)    agent completion powershell --install    (tab completion)"
