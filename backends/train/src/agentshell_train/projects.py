"""Realistic generated projects for the agent corpus: the layouts real repositories have.

corpus.py's make_workspace writes a few toy folders; users' projects are Python packages, Node apps,
Go modules, websites, folders of notes. Each style below lays out one kind with conventional names
(src, tests, docs, internal) and names from the split-aware pools (see project_files.py), so the
model sees real layouts and still has to copy names it never saw. Contents come from project_code.py
and project_files.py. Everything is drawn from one rng in a fixed order: the same state writes the
same tree byte for byte, and nothing is read from the machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from agentshell_train import project_code as code
from agentshell_train import project_files as text
from agentshell_train.phrasings import Split
from agentshell_train.project_files import Ctx
from agentshell_train.workspace import Workspace

__all__ = ["ADDONS", "MAX_FILES", "MIN_FILES", "STYLES", "draw_project", "make_project"]

MIN_FILES, MAX_FILES = 5, 30
Files = dict[str, str]  # path -> content, in the order drawn


def _add(files: Files, path: str, content: str) -> None:
    files.setdefault(path, content)


def _gitignore(c: Ctx, files: Files, *extra: str) -> None:
    if c.rng.random() < 0.7:
        _add(files, ".gitignore", text.gitignore(c, extra))


def _python_package(c: Ctx, files: Files) -> None:
    pkg, version = c.snake(1), c.version()
    dist = pkg.replace("_", "-")
    _add(files, "pyproject.toml", code.pyproject(c, dist, version, c.rng.randint(1, 3)))
    _add(files, "README.md", text.readme(c, dist, f"pip install -e .\n{dist} --help"))
    _gitignore(c, files, "__pycache__/", "*.pyc", ".venv/")
    base = f"src/{pkg}" if c.rng.random() < 0.6 else pkg
    exports: dict[str, list[str]] = {}
    modules: list[tuple[str, str, str, list[str]]] = []  # path, dotted name, body, public names
    for _ in range(c.rng.randint(1, 4)):
        mod = c.snake()
        body, names = code.python_module(c)
        exports.setdefault(mod, names)
        modules.append((f"{base}/{mod}.py", f"{pkg}.{mod}", body, names))
    if c.rng.random() < 0.4:
        sub = c.rng.choice(("utils", "models", "handlers", "core", c.snake(1)))
        body, names = code.python_module(c)
        mod = c.snake()
        modules.append((f"{base}/{sub}/{mod}.py", f"{pkg}.{sub}.{mod}", body, names))
        _add(files, f"{base}/{sub}/__init__.py", text.lines(f'"""{c.sentence()}"""', "", "__all__: list[str] = []"))
    _add(files, f"{base}/__init__.py", code.python_init(c, version, exports))
    for path, _, body, _ in modules:
        _add(files, path, body)
    for path, dotted, _, names in modules[: c.rng.randint(1, len(modules))]:
        _add(files, f"tests/test_{path.rsplit('/', 1)[-1]}", code.python_test(c, dotted, names))
    if c.rng.random() < 0.4:
        _add(files, "CHANGELOG.md", text.changelog(c))


def _python_scripts(c: Ctx, files: Files) -> None:
    where = c.rng.choice(("", "scripts/", "tools/", c.folder() + "/"))
    for _ in range(c.rng.randint(2, 5)):
        _add(files, f"{where}{c.snake()}.py", code.python_module(c, doc=c.rng.random() < 0.7)[0])
    reqs = c.rng.sample(("requests==2.31.0", "pandas>=2.0", "pyyaml", "click>=8", "python-dotenv", "tqdm"), 3)
    _add(files, "requirements.txt", text.lines(*reqs))
    if c.rng.random() < 0.5:
        _add(files, "README.md", text.readme(c, c.word().title(), f"python {where}{c.snake()}.py --input data.csv"))


def _node(c: Ctx, files: Files) -> None:
    name, ts = c.kebab(), c.rng.random() < 0.7
    main = "index.js" if not ts or c.rng.random() < 0.4 else "dist/index.js"
    _add(files, "package.json", code.package_json(c, name, main, ts))
    _gitignore(c, files, "node_modules/", "dist/", "coverage/")
    src = c.rng.choice(("src", "lib", "app"))
    prev: list[tuple[str, str]] = []
    for _ in range(c.rng.randint(2, 4)):
        mod = c.camel() if c.rng.random() < 0.5 else c.kebab()
        body, names = code.ts_module(c, prev[-1:])
        _add(files, f"{src}/{mod}.{'ts' if ts else 'js'}", body)
        prev.append((names[0], mod))
    if ts:
        _add(files, "tsconfig.json", code.tsconfig(c))
        if c.rng.random() < 0.5:
            fn, mod = prev[0]
            test = f'import {{ {fn} }} from "../{src}/{mod}";\n\ntest("{fn} counts items", () => {{\n'
            _add(files, f"tests/{mod}.test.ts", test + f"  expect({fn}([])).toBe(0);\n}});\n")
    if main == "index.js":
        _add(files, "index.js", code.js_server(c, f"./{src}/{prev[0][1]}", prev[0][0]))
    _add(files, "README.md", text.readme(c, name, "npm install\nnpm start"))


def _rust(c: Ctx, files: Files) -> None:
    krate = c.snake(1)
    _add(files, "Cargo.toml", code.cargo_toml(c, krate.replace("_", "-")))
    body, names = code.rust_lib(c)
    _add(files, "src/lib.rs", body)
    _add(files, "src/main.rs", code.rust_main(c, krate, names))
    for _ in range(c.rng.randint(0, 2)):
        _add(files, f"src/{c.snake()}.rs", code.rust_lib(c)[0])
    _gitignore(c, files, "target/", "Cargo.lock")
    _add(files, "README.md", text.readme(c, krate, "cargo build --release\ncargo test"))


def _go(c: Ctx, files: Files) -> None:
    module = f"github.com/{c.kebab(1)}/{c.kebab(1)}"
    _add(files, "go.mod", text.lines(f"module {module}", "", f"go 1.{c.rng.randint(19, 22)}"))
    pkg = c.snake(1).replace("_", "")
    body, fn = code.go_package(c, pkg)
    main = "main.go" if c.rng.random() < 0.5 else f"cmd/{module.rsplit('/', 1)[-1]}/main.go"
    _add(files, main, code.go_main(c, module, pkg, fn))
    _add(files, f"internal/{pkg}/{pkg}.go", body)
    if c.rng.random() < 0.6:
        _add(files, f"internal/{pkg}/{pkg}_test.go", code.go_test(c, pkg, fn))
    targets = {"build": [f"go build -o bin/{pkg} ./..."], "test": ["go test ./..."], "lint": ["go vet ./..."]}
    _add(files, "Makefile", text.makefile(c, targets))
    _add(files, "README.md", text.readme(c, module.rsplit("/", 1)[-1], "make build\n./bin/" + pkg))


def _java(c: Ctx, files: Files) -> None:
    artifact, group = c.kebab(), c.snake(1)
    _add(files, "pom.xml", code.pom_xml(c, artifact, group))
    classes = ["App", *(c.pascal() for _ in range(c.rng.randint(1, 3)))]
    for cls in classes:
        _add(files, f"src/main/java/{cls}.java", code.java_class(c, cls, group))
    if c.rng.random() < 0.6:
        _add(files, f"src/test/java/{classes[-1]}Test.java", code.java_class(c, classes[-1] + "Test", group))
    _gitignore(c, files, "target/", "*.class", ".idea/")
    _add(files, "README.md", text.readme(c, artifact, "mvn package\njava -jar target/app.jar"))


def _ruby(c: Ctx, files: Files) -> None:
    rails = c.rng.random() < 0.5
    _add(files, "Gemfile", code.gemfile(c, rails))
    if rails:
        for _ in range(c.rng.randint(1, 3)):
            model = c.snake(1)
            cls = model.title().replace("_", "")
            _add(files, f"app/models/{model}.rb", code.ruby_class(c, cls, "ApplicationRecord"))
            _add(files, f"app/controllers/{model}s_controller.rb", code.rails_controller(c, cls, model + "s"))
        _add(files, "config/routes.rb", code.rails_routes(c, c.snake(1) + "s"))
        _add(files, "config/database.yml", text.yaml_config(c))
    else:
        gem = c.snake(1)
        _add(files, f"lib/{gem}.rb", code.ruby_class(c, gem.title().replace("_", "")))
        for _ in range(c.rng.randint(1, 3)):
            name = c.snake()
            _add(files, f"lib/{gem}/{name}.rb", code.ruby_class(c, name.title().replace("_", "")))
        _add(files, "Rakefile", text.lines('require "rspec/core/rake_task"', "", "RSpec::Core::RakeTask.new(:spec)"))
    _add(files, "README.md", text.readme(c, c.word().title(), "bundle install\nbundle exec rake"))


def _c(c: Ctx, files: Files) -> None:
    name, fn, st = c.snake(1), c.snake(), c.snake(1) + "_t"
    inc = "include/" if c.rng.random() < 0.5 else "src/"
    _add(files, f"{inc}{name}.h", code.c_header(c, name.upper(), fn, st))
    _add(files, f"src/{name}.c", code.c_source(c, f"{name}.h", fn, st))
    _add(files, "src/main.c", code.c_main(c, f"{name}.h", fn, st))
    targets = {
        "all": [f"$(CC) $(CFLAGS) -I{inc.rstrip('/')} src/*.c -o {name}"],
        "clean": [f"rm -f {name} *.o"],
        "run": ["./" + name],
    }
    _add(files, "Makefile", "CC = gcc\nCFLAGS = -Wall -O2\n\n" + text.makefile(c, targets))
    _gitignore(c, files, "*.o", name)
    _add(files, "README.md", text.readme(c, name, f"make\n./{name}"))


def _website(c: Ctx, files: Files) -> None:
    title = f"{c.word().title()} {c.word()}"
    css_dir, js_dir = c.rng.choice((("css", "js"), ("static/css", "static/js"), ("assets/css", "assets/js")))
    _add(files, "index.html", text.html_page(c, title, f"{css_dir}/style.css", f"{js_dir}/app.js"))
    for _ in range(c.rng.randint(0, 3)):
        _add(
            files, f"{c.kebab()}.html", text.html_page(c, c.word().title(), f"{css_dir}/style.css", f"{js_dir}/app.js")
        )
    _add(files, f"{css_dir}/style.css", text.css(c))
    fn = c.camel()
    toggle = f"  document.querySelector('#{c.kebab(1)}').classList.toggle('open');"
    js = f"// {c.sentence()}\nfunction {fn}() {{\n{toggle}\n}}\n"
    _add(files, f"{js_dir}/app.js", js + f"document.addEventListener('DOMContentLoaded', {fn});\n")
    if c.rng.random() < 0.4:
        _add(files, "nginx.conf", text.nginx_conf(c, c.kebab(1)))


def _docs(c: Ctx, files: Files, small: bool = False) -> None:
    where = "docs" if c.rng.random() < 0.7 else c.folder()
    for _ in range(c.rng.randint(1, 2) if small else c.rng.randint(2, 5)):
        _add(files, f"{where}/{c.kebab()}.md", text.doc_page(c, c.word().title()))
    if not small and c.rng.random() < 0.5:
        sub = c.rng.choice(("guide", "api", "howto", c.folder()))
        _add(files, f"{where}/{sub}/{c.kebab()}.md", text.doc_page(c, c.word().title()))
        _add(files, "mkdocs.yml", text.lines(f"site_name: {c.word().title()}", "nav:", f"  - Home: {where}/index.md"))
    if not small:
        _add(files, "README.md", text.readme(c, c.word().title(), "mkdocs serve"))


def _data(c: Ctx, files: Files, small: bool = False) -> None:
    where = c.rng.choice(("data", "datasets", c.folder()))
    for _ in range(c.rng.randint(1, 2) if small else c.rng.randint(2, 5)):
        kind = c.rng.randrange(3)
        name = f"{where}/{c.snake()}"
        if kind == 0:
            _add(files, f"{name}.csv", text.csv_table(c))
        elif kind == 1:
            _add(files, f"{name}.json", text.json_records(c))
        else:
            _add(files, f"{where}/raw/{c.snake()}.csv", text.csv_table(c))
    conf = c.rng.choice(("config", "conf", "settings"))
    _add(files, f"{conf}/{c.kebab(1)}.yaml", text.yaml_config(c))
    if not small:
        _add(files, f"{conf}/{c.kebab(1)}.json", text.json_config(c))
        _add(files, f"{conf}/{c.kebab(1)}.toml", text.toml_config(c))
        _add(files, "README.md", text.readme(c, c.word().title(), f"python load.py {where}/"))


def _ops(c: Ctx, files: Files, small: bool = False) -> None:
    app = c.kebab(1)
    for _ in range(c.rng.randint(1, 2) if small else c.rng.randint(2, 4)):
        _add(files, f"scripts/{c.kebab()}.sh", text.shell_script(c, c.rng.choice(("Makefile", "setup.cfg", "app.py"))))
    base, run, req = c.rng.choice(
        (
            ("python:3.12-slim", "pip install -r requirements.txt", "requirements.txt"),
            ("node:20-alpine", "npm ci", "package*.json"),
            ("golang:1.22", "go build -o /bin/app ./...", "go.mod"),
        )
    )
    _add(files, "Dockerfile", text.dockerfile(c, base, run, req))
    if not small:
        _add(files, "docker-compose.yml", text.compose(c, app))
        _add(files, ".env.example", text.env_example(c))
        _add(files, f"{c.rng.choice(('deploy', 'ops', 'nginx'))}/nginx.conf", text.nginx_conf(c, app))
        _add(files, "Makefile", text.makefile(c, {"up": ["docker compose up -d"], "logs": ["docker compose logs -f"]}))


def _notes(c: Ctx, files: Files, small: bool = False) -> None:
    where = "" if small else c.rng.choice(("notes/", c.folder() + "/"))
    _add(files, c.rng.choice(("TODO.md", "todo.txt", "TODO")), text.todo(c, c.rng.random() < 0.5))
    for _ in range(c.rng.randint(0, 1) if small else c.rng.randint(2, 6)):
        name = (
            f"{c.rng.randint(2019, 2025)}-{c.rng.randint(1, 12):02d}-{c.kebab(1)}"
            if c.rng.random() < 0.3
            else c.snake()
        )
        _add(files, f"{where}{name}.{c.rng.choice(('txt', 'md'))}", text.notes(c))
    if not small and c.rng.random() < 0.5:
        _add(files, f"{where}{c.folder()}/{c.snake()}.md", text.notes(c))


Style = Callable[[Ctx, Files], None]
STYLES: dict[str, Style] = {
    "python-package": _python_package,
    "python-scripts": _python_scripts,
    "node": _node,
    "rust": _rust,
    "go": _go,
    "java": _java,
    "ruby": _ruby,
    "c": _c,
    "website": _website,
    "docs": _docs,
    "data": _data,
    "ops": _ops,
    "notes": _notes,
}
AddOn = Callable[[Ctx, Files, bool], None]
ADDONS: dict[str, AddOn] = {"docs": _docs, "data": _data, "ops": _ops, "notes": _notes}


def draw_project(rng: random.Random, split: Split) -> tuple[str, Files]:
    """The style drawn and the files of one project (path -> text), without touching the disk."""
    c = Ctx(rng, split)
    files: Files = {}
    style = rng.choice(list(STYLES))
    STYLES[style](c, files)
    if rng.random() < 0.5:  # a Python package with docs/ and scripts/, a website with notes
        for name in rng.sample(list(ADDONS), rng.randint(1, 2)):
            ADDONS[name](c, files, True)
    while len(files) < MIN_FILES:
        _add(files, f"{c.snake()}.{rng.choice(('txt', 'md'))}", text.notes(c))
    return style, {p: files[p] for p in sorted(list(files)[:MAX_FILES])}


def make_project(rng: random.Random, root: Path, split: Split) -> Workspace:
    """Write one project of a style drawn from ``rng`` under ``root`` (which must exist); names per ``split``."""
    _, files = draw_project(rng, split)
    dirs = sorted({p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)})
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        (root / path).write_text(content, encoding="ascii", newline="\n")
    return Workspace(root, list(files), dirs)
