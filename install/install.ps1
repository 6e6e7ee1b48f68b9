<#
.SYNOPSIS
    agentshell installer for Windows.

.DESCRIPTION
    Installs agentshell (the `agent` command) into its own environment: `uv tool install`
    when uv is on PATH, otherwise a virtual environment under %LOCALAPPDATA%\agentshell
    plus an `agent.cmd` shim in %USERPROFILE%\.local\bin, which is added to the user PATH.
    Running it again updates in place.

    irm https://raw.githubusercontent.com/agentshell/agentshell/main/install/install.ps1 | iex

    Options cannot be passed through `| iex`; use environment variables instead
    ($env:AGENTSHELL_WITH_GGUF = "1"; $env:AGENTSHELL_SOURCE = "..."; $env:AGENTSHELL_UNINSTALL = "1"),
    or run it as a script block:

    & ([scriptblock]::Create((irm https://.../install.ps1))) -WithGguf

.PARAMETER WithGguf
    Also install the llama.cpp backend (compiles llama.cpp: needs Visual Studio Build Tools and CMake).
.PARAMETER From
    A local checkout, a wheel, a git URL (git+https://...) or a PyPI requirement. Default: agentshell from PyPI.
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
if (-not $From) { $From = if ($env:AGENTSHELL_SOURCE) { $env:AGENTSHELL_SOURCE } else { "agentshell" } }

# Same place platformdirs uses for user_data_dir("agentshell", appauthor=False).
$DataDir = Join-Path $env:LOCALAPPDATA "agentshell"
$Venv = Join-Path $DataDir "venv"
$BinDir = Join-Path $env:USERPROFILE ".local\bin"
$Shim = Join-Path $BinDir "agent.cmd"
$Backends = @("chatformat", "ollama", "builtin", "openai")
$Extra = if ($WithGguf) { "[gguf]" } else { "" }

# ------------------------------------------------------------------ what to install
$Kind = "spec"
if ($From -like "git+*" -or $From -like "*.git") {
    $Kind = "git"
    if ($From -notlike "git+*") { $From = "git+$From" }
} elseif (Test-Path -LiteralPath $From -PathType Container) {
    if (-not (Test-Path -LiteralPath (Join-Path $From "pyproject.toml"))) {
        Fail "$From has no pyproject.toml: not an agentshell checkout"
    }
    $From = (Resolve-Path -LiteralPath $From).Path
    $Kind = "dir"
}

function Test-UvTool {
    if (-not (Have "uv")) { return $false }
    $list = & uv tool list 2>$null
    return [bool]($list | Select-String -Pattern "^agentshell " -Quiet)
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
    if (Test-UvTool) { & uv tool uninstall agentshell; $removed = $true }
    if (Test-Path -LiteralPath $Shim) { Remove-Item -LiteralPath $Shim -Force }
    if (Test-Path -LiteralPath $Venv) { Remove-Item -LiteralPath $Venv -Recurse -Force; $removed = $true }
    if (-not (Get-ChildItem -LiteralPath $BinDir -ErrorAction SilentlyContinue)) { Remove-UserPath $BinDir }
    if ($removed) {
        Say "uninstalled. Your config and sessions are kept in $DataDir and $env:APPDATA\agentshell"
    } else {
        Say "agentshell is not installed; nothing to do"
    }
    return
}

# ------------------------------------------------------------------ install with uv
function Install-WithUv {
    switch ($Kind) {
        "dir" { $spec = "agentshell$Extra @ " + ([Uri]$From).AbsoluteUri }   # uv installs the workspace backends too
        "git" { $spec = "agentshell$Extra @ $From" }
        default { $spec = if ($From -like "*.whl" -or $From -like "*.tar.gz") { $From } else { "$From$Extra" } }
    }
    Say "installing $spec with uv tool"
    if (Test-Path -LiteralPath $Shim) { Remove-Item -LiteralPath $Shim -Force }
    if (Test-Path -LiteralPath $Venv) { Remove-Item -LiteralPath $Venv -Recurse -Force }
    & uv tool install --force --python ">=3.11" $spec
    if ($LASTEXITCODE -ne 0) { Fail "uv tool install failed (see above)" }
    $dir = (& uv tool dir --bin 2>$null)
    if ($LASTEXITCODE -eq 0 -and $dir) { $script:BinDir = $dir.Trim() }
    return (Join-Path $script:BinDir "agent.exe")
}

# ------------------------------------------------------------------ install with a virtual environment
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
    if (Test-UvTool) { & uv tool uninstall agentshell | Out-Null }   # one install at a time
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
            $targets = @($From) + ($Backends | ForEach-Object { Join-Path $From "backends\$_" })
            if ($WithGguf) { $targets += (Join-Path $From "backends\gguf") }
        }
        "git" {
            $targets = @("agentshell @ $From") + ($Backends | ForEach-Object { "agentshell-$_ @ $From#subdirectory=backends/$_" })
            if ($WithGguf) { $targets += "agentshell-gguf @ $From#subdirectory=backends/gguf" }
        }
        default { $targets = @(if ($From -like "*.whl" -or $From -like "*.tar.gz") { $From } else { "$From$Extra" }) }
    }
    Say "installing into $Venv"
    & $venvPython -m pip install --quiet --upgrade pip 2>$null | Out-Null
    & $venvPython -m pip install --quiet --upgrade @targets
    if ($LASTEXITCODE -ne 0) { Fail "pip install failed (see above)" }
    New-Item -ItemType Directory -Force -Path $BinDir | Out-Null
    $exe = Join-Path $Venv "Scripts\agent.exe"
    Set-Content -LiteralPath $Shim -Encoding ASCII -Value "@echo off`r`n""$exe"" %*"
    return $Shim
}

if ((Have "uv") -and -not $NoUv) { $agent = Install-WithUv } else { $agent = Install-WithVenv }

if (-not (Test-Path -LiteralPath $agent)) { Fail "agent was not found at $agent after installing" }
$version = & $agent --version
if ($LASTEXITCODE -ne 0) { Fail "the installed agent does not start; run $agent --version" }
Add-UserPath $BinDir
Say "$version installed at $agent"
Say "next: agent doctor    (checks your backends)    agent completion powershell --install    (tab completion)"
