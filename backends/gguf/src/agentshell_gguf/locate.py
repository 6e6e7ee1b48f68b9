"""Turning what the user typed (a path, or a name in the model folders) into a GGUF file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from agentshell.protocol import ModelNotFound


def model_dirs(option: object, data_dir: Path | None) -> list[Path]:
    """The ``model_dirs`` option (a path or a list of paths), defaulting to ``<agent data dir>/models``.

    ``data_dir`` is the agent's (:class:`agentshell.protocol.Host`); without one, and without the
    option, there is no model folder and only paths name models.
    """
    if option is None or option == "" or option == []:
        return [data_dir / "models"] if data_dir is not None else []
    items: Iterable[object] = option if isinstance(option, list | tuple) else [option]
    return [Path(str(item)).expanduser() for item in items]


def looks_like_path(model: str) -> bool:
    return model.lower().endswith(".gguf") or "/" in model or "\\" in model or model.startswith("~")


def gguf_files(dirs: Sequence[Path]) -> list[Path]:
    """Every ``*.gguf`` in the folders and their direct subfolders (how Hugging Face downloads are laid out)."""
    found: dict[Path, None] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for pattern in ("*.gguf", "*/*.gguf"):
            for path in sorted(folder.glob(pattern)):
                if path.is_file() and not path.name.startswith("."):
                    found.setdefault(path, None)
    return list(found)


def resolve_model(model: str, dirs: Sequence[Path]) -> Path:
    """A path is taken as given; a bare name is looked up by file name (with or without ``.gguf``, any case)."""
    name = model.strip()
    if not name:
        raise ModelNotFound("no model named", hint="pass a .gguf path or gguf:NAME")
    if looks_like_path(name):
        path = Path(name).expanduser()
        if path.exists() or path.is_absolute() or "/" in name:
            return path
        for folder in dirs:
            candidate = folder / name
            if candidate.exists():
                return candidate
        return path
    wanted = name.lower().removesuffix(".gguf")
    files = gguf_files(dirs)
    exact = [p for p in files if p.stem.lower() == wanted]
    if exact:
        return exact[0]
    partial = [p for p in files if wanted in p.stem.lower()]
    if len(partial) == 1:
        return partial[0]
    where = ", ".join(str(d) for d in dirs) or "a model folder (none is set: the gguf option model_dirs)"
    if len(partial) > 1:
        names = ", ".join(p.stem for p in partial[:5])
        raise ModelNotFound(f"gguf model {name!r} is ambiguous: {names}", hint="type more of the name")
    raise ModelNotFound(
        f"no GGUF model named {name!r} in {where}",
        hint="pass the path of a .gguf file, or put the file in that folder (list: agent models --backend gguf)",
    )
