"""Source files and manifests of generated projects, one template per language (see projects.py).

The code reads like real code (functions with bodies, classes, imports between the project's own
modules) but is never run: it only has to be searched, read and edited as real code would be.
"""

from __future__ import annotations

import json

from agentshell_train.project_files import Ctx, lines


def python_module(c: Ctx, doc: bool = True) -> tuple[str, list[str]]:
    """A module and the public names it defines, so tests and __init__ can import them."""
    rng = c.rng
    body = [f'"""{c.sentence()}"""', ""] if doc else []
    imports = rng.sample(("import json", "import logging", "import os", "from pathlib import Path"), rng.randint(1, 3))
    body += ["from __future__ import annotations", "", *sorted(imports), ""]
    const = c.upper()
    body += [f"{const} = {rng.choice((repr(c.kebab()), str(c.port()), str(rng.randint(1, 100))))}", ""]
    names: list[str] = []
    for _ in range(rng.randint(1, 3)):
        if len(body) > 24:  # the file stays under 40 lines
            break
        if rng.random() < 0.6:
            fn, arg, limit, w = c.snake(), c.snake(1), c.snake(1), c.word()
            names.append(fn)
            bodies = (
                [f"if not {arg}:", f'    raise ValueError("{arg} must not be empty")', f"return {arg}[:{limit}]"],
                ["result = []", f"for item in {arg}:", f"    result.append(item.{w})", f"return result[:{limit}]"],
                [
                    "total = 0",
                    f"for entry in {arg}:",
                    f"    total += entry.get({w!r}, 0)",
                    f"return min(total, {limit})",
                ],
                [f"# TODO: cache the {w} lookup", f"return {{{w!r}: {arg}, 'limit': {limit}, 'key': {const}}}"],
            )
            body += [
                f"def {fn}({arg}: list, {limit}: int = {rng.randint(1, 50)}) -> object:",
                f'    """{c.sentence()}"""',
            ]
            body += [f"    {line}" for line in rng.choice(bodies)] + ["", ""]
        else:
            cls, a, b, m = c.pascal(), c.snake(1), c.snake(1) + "_count", c.snake()
            names.append(cls)
            body += [f"class {cls}:", f'    """{c.sentence()}"""', ""]
            body += [f"    def __init__(self, {a}: str, {b}: int = 0) -> None:", f"        self.{a} = {a}"]
            body += [
                f"        self.{b} = {b}",
                "",
                f"    def {m}(self) -> str:",
                f'        return f"{{self.{a}}}-{{self.{b}}}"',
            ]
            body += ["", ""]
    return lines(*body[:-2]), names


def python_test(c: Ctx, module: str, names: list[str]) -> str:
    body = [f"from {module} import {', '.join(sorted(names))}", "", ""]
    for name in names:
        if name[0].isupper():
            body += [f"def test_{name.lower()}_{c.snake(1)}() -> None:", f"    obj = {name}({c.kebab(1)!r}, 3)"]
            body += ["    assert obj is not None", "", ""]
        else:
            body += [f"def test_{name}_{c.snake(1)}() -> None:", f"    assert {name}([]) is not None", "", ""]
    return lines(*body[:-2])


def python_init(c: Ctx, version: str, exports: dict[str, list[str]]) -> str:
    body = [f'"""{c.sentence()}"""', ""]
    body += [f"from .{mod} import {', '.join(sorted(names))}" for mod, names in exports.items()]
    every = sorted(n for names in exports.values() for n in names)
    return lines(*body, "", f'__version__ = "{version}"', f"__all__ = {every!r}")


def pyproject(c: Ctx, name: str, version: str, deps: int) -> str:
    pins = [f'    "{c.rng.choice(("requests", "click", "pydantic", "numpy", "fastapi", "rich"))}>={c.version()}",']
    body = ["[project]", f'name = "{name}"', f'version = "{version}"', f'description = "{c.sentence()}"']
    body += ['requires-python = ">=3.10"', "dependencies = [", *pins * deps, "]"]
    if c.rng.random() < 0.6:
        body += ["", "[project.scripts]", f'{name} = "{name.replace("-", "_")}.cli:main"']
    if c.rng.random() < 0.5:
        body += ["", "[tool.ruff]", f"line-length = {c.rng.choice((88, 100, 120))}"]
    return lines(*body)


def ts_module(c: Ctx, imports: list[tuple[str, str]]) -> tuple[str, list[str]]:
    iface, fn, svc, field = c.pascal(), c.camel(), c.pascal(1) + "Service", c.camel()
    body = [f'import {{ {name} }} from "./{mod}";' for name, mod in imports] + ([""] if imports else [])
    body += [f"export interface {iface} {{", "  id: number;", f"  {field}: string;", f"  {c.camel()}?: boolean;", "}"]
    body += ["", f"export const {c.upper()} = {c.port()};", ""]
    body += [
        f"export function {fn}(items: {iface}[]): number {{",
        f"  return items.filter((x) => x.{field}).length;",
        "}",
    ]
    if c.rng.random() < 0.6:
        url = f"http://{c.host()}:{c.port()}"
        body += ["", f"export class {svc} {{", f'  constructor(private readonly baseUrl: string = "{url}") {{}}', ""]
        body += [f"  async {c.camel()}(id: number): Promise<{iface} | undefined> {{"]
        body += [f"    const res = await fetch(`${{this.baseUrl}}/{c.kebab()}/${{id}}`);"]
        body += [f"    return res.ok ? ((await res.json()) as {iface}) : undefined;", "  }", "}"]
    return lines(*body), [fn, iface]


def js_server(c: Ctx, module: str, fn: str) -> str:
    return lines(
        'const express = require("express");',
        f'const {{ {fn} }} = require("{module}");',
        "",
        "const app = express();",
        f"const PORT = process.env.PORT || {c.port()};",
        "",
        f'app.get("/{c.kebab()}", (req, res) => {{',
        f'  res.json({{ status: "ok", {c.camel()}: {fn}(req.query) }});',
        "});",
        "",
        f"app.listen(PORT, () => console.log(`{c.word()} server listening on ${{PORT}}`));",
    )


def package_json(c: Ctx, name: str, main: str, ts: bool) -> str:
    scripts = {"start": f"node {main}", "test": "jest" if ts else "node --test"}
    if ts:
        scripts["build"] = "tsc -p tsconfig.json"
    deps = {d: f"^{c.version()}" for d in c.rng.sample(("express", "zod", "axios", "lodash", "dotenv"), 2)}
    data = {"name": name, "version": c.version(), "description": c.sentence(), "main": main, "scripts": scripts}
    return json.dumps({**data, "dependencies": deps}, indent=2) + "\n"


def tsconfig(c: Ctx) -> str:
    opts = {"target": c.rng.choice(("ES2020", "ES2022")), "module": "commonjs", "strict": True, "outDir": "dist"}
    return json.dumps({"compilerOptions": opts, "include": ["src"]}, indent=2) + "\n"


def rust_lib(c: Ctx) -> tuple[str, list[str]]:
    st, fn, field, limit = c.pascal(), c.snake(), c.snake(1), c.upper()
    body = [f"//! {c.sentence()}", "", "use std::collections::HashMap;", ""]
    body += [f"pub const {limit}: usize = {c.rng.randint(2, 500)};", "", "#[derive(Debug, Clone)]"]
    body += [f"pub struct {st} {{", f"    pub {field}: String,", "    pub count: u32,", "}", ""]
    body += [f"/// {c.sentence()}", f"pub fn {fn}(items: &[{st}]) -> HashMap<String, u32> {{"]
    body += ["    let mut out = HashMap::new();", f"    for item in items.iter().take({limit}) {{"]
    body += [f"        *out.entry(item.{field}.clone()).or_insert(0) += item.count;", "    }", "    out", "}"]
    if c.rng.random() < 0.5:
        body += ["", "#[cfg(test)]", "mod tests {", "    use super::*;", "", "    #[test]"]
        body += [f"    fn {fn}_empty() {{", f"        assert!({fn}(&[]).is_empty());", "    }", "}"]
    return lines(*body), [st, fn]


def rust_main(c: Ctx, krate: str, names: list[str]) -> str:
    return lines(
        f"use {krate}::{{{', '.join(names)}}};",
        "",
        "fn main() {",
        f'    let items = vec![{names[0]} {{ {c.rng.choice(("name", "label"))}: "{c.kebab(1)}".into(), count: 1 }}];',
        f"    let totals = {names[1]}(&items);",
        f'    println!("{c.word()} totals: {{:?}}", totals);',
        "}",
    )


def cargo_toml(c: Ctx, name: str) -> str:
    deps = [
        f'{d} = "{c.rng.randint(0, 1)}.{c.rng.randint(1, 30)}"' for d in c.rng.sample(("serde", "clap", "anyhow"), 2)
    ]
    return lines(
        "[package]", f'name = "{name}"', f'version = "{c.version()}"', 'edition = "2021"', "", "[dependencies]", *deps
    )


def go_package(c: Ctx, pkg: str) -> tuple[str, str]:
    st, fn, field = c.pascal(), "New" + c.pascal(1), c.pascal(1)
    body = [f"// Package {pkg} {c.sentence()[0].lower()}{c.sentence()[1:]}", f"package {pkg}", "", 'import "fmt"', ""]
    body += [f"// {st} {c.sentence()}", f"type {st} struct {{", f"\t{field} string", "\tTimeout int", "}", ""]
    body += [
        f"func {fn}({field.lower()} string) *{st} {{",
        f"\treturn &{st}{{{field}: {field.lower()}, Timeout: {c.rng.choice((5, 30, 60))}}}",
        "}",
        "",
    ]
    body += [f"func (s *{st}) String() string {{", f'\treturn fmt.Sprintf("{c.kebab(1)}(%s)", s.{field})', "}"]
    return lines(*body), fn


def go_test(c: Ctx, pkg: str, fn: str) -> str:
    return lines(
        f"package {pkg}",
        "",
        'import "testing"',
        "",
        f"func Test{fn}(t *testing.T) {{",
        f'\tif got := {fn}("{c.kebab(1)}"); got == nil {{',
        f'\t\tt.Fatal("{fn} returned nil")',
        "\t}",
        "}",
    )


def go_main(c: Ctx, module: str, pkg: str, fn: str) -> str:
    return lines(
        "package main",
        "",
        "import (",
        '\t"fmt"',
        '\t"os"',
        "",
        f'\t"{module}/internal/{pkg}"',
        ")",
        "",
        "func main() {",
        "\tif len(os.Args) < 2 {",
        f'\t\tfmt.Fprintln(os.Stderr, "usage: {module.rsplit("/", 1)[-1]} NAME")',
        "\t\tos.Exit(2)",
        "\t}",
        f"\tfmt.Println({pkg}.{fn}(os.Args[1]))",
        "}",
    )


def java_class(c: Ctx, cls: str, group: str) -> str:
    field, method = c.camel(), c.camel()
    return lines(
        f"package com.{group};",
        "",
        "import java.util.ArrayList;",
        "import java.util.List;",
        "",
        f"/** {c.sentence()} */",
        f"public class {cls} {{",
        f"    private static final int {c.upper()} = {c.rng.randint(1, 99)};",
        f"    private final List<String> {field} = new ArrayList<>();",
        "",
        f"    public void {method}(String value) {{",
        "        if (value == null || value.isEmpty()) {",
        f'            throw new IllegalArgumentException("{method} needs a value");',
        "        }",
        f"        {field}.add(value);",
        "    }",
        "",
        f"    public int size() {{ return {field}.size(); }}",
        "}",
    )


def pom_xml(c: Ctx, artifact: str, group: str) -> str:
    return lines(
        '<project xmlns="http://maven.apache.org/POM/4.0.0">',
        "  <modelVersion>4.0.0</modelVersion>",
        f"  <groupId>com.{group}</groupId>",
        f"  <artifactId>{artifact}</artifactId>",
        f"  <version>{c.version()}-SNAPSHOT</version>",
        "  <properties>",
        f"    <maven.compiler.release>{c.rng.choice((11, 17, 21))}</maven.compiler.release>",
        "  </properties>",
        "  <dependencies>",
        "    <dependency>",
        "      <groupId>org.junit.jupiter</groupId>",
        "      <artifactId>junit-jupiter</artifactId>",
        "      <version>5.10.0</version>",
        "      <scope>test</scope>",
        "    </dependency>",
        "  </dependencies>",
        "</project>",
    )


def ruby_class(c: Ctx, cls: str, parent: str = "") -> str:
    attr, meth = c.snake(1), c.snake()
    body = [f"# {c.sentence()}", f"class {cls}{' < ' + parent if parent else ''}"]
    if parent == "ApplicationRecord":
        body += [f"  belongs_to :{c.snake(1)}", f"  validates :{attr}, presence: true", ""]
    else:
        body += [f"  attr_reader :{attr}", "", f"  def initialize({attr})", f"    @{attr} = {attr}", "  end", ""]
    body += [f"  def {meth}", f"    return nil if {attr}.nil?", "", f'    "#{{{attr}}}-{c.kebab(1)}"', "  end", "end"]
    return lines(*body)


def rails_controller(c: Ctx, model: str, plural: str) -> str:
    return lines(
        f"class {plural.title().replace('_', '')}Controller < ApplicationController",
        "  def index",
        f"    @{plural} = {model}.order(created_at: :desc).limit({c.rng.choice((10, 25, 50))})",
        "  end",
        "",
        "  def show",
        f"    @{plural[:-1] if plural.endswith('s') else plural} = {model}.find(params[:id])",
        "  end",
        "end",
    )


def rails_routes(c: Ctx, plural: str) -> str:
    extra = f"  get '/{c.kebab(1)}', to: '{plural}#index'"
    return lines("Rails.application.routes.draw do", f"  resources :{plural}, only: [:index, :show]", extra, "end")


def gemfile(c: Ctx, rails: bool) -> str:
    gems = ["rails", "pg", "puma"] if rails else ["rake", "rspec"]
    return lines(
        'source "https://rubygems.org"',
        "",
        *(f'gem "{g}", "~> {c.rng.randint(1, 7)}.{c.rng.randint(0, 9)}"' for g in gems),
    )


def c_header(c: Ctx, guard: str, fn: str, st: str) -> str:
    return lines(
        f"#ifndef {guard}_H",
        f"#define {guard}_H",
        "",
        "#include <stddef.h>",
        "",
        f"#define {c.upper()}_MAX {c.rng.choice((16, 64, 256, 1024))}",
        "",
        "typedef struct {",
        "    int id;",
        f"    char {c.snake(1)}[32];",
        f"}} {st};",
        "",
        f"int {fn}(const {st} *items, size_t count);",
        "",
        "#endif",
    )


def c_source(c: Ctx, header: str, fn: str, st: str) -> str:
    return lines(
        f'#include "{header}"',
        "",
        f"/* {c.sentence()} */",
        f"int {fn}(const {st} *items, size_t count)",
        "{",
        "    int total = 0;",
        "    for (size_t i = 0; i < count; i++) {",
        "        total += items[i].id;",
        "    }",
        "    return total;",
        "}",
    )


def c_main(c: Ctx, header: str, fn: str, st: str) -> str:
    return lines(
        "#include <stdio.h>",
        f'#include "{header}"',
        "",
        "int main(int argc, char **argv)",
        "{",
        f'    {st} items[2] = {{{{1, "{c.kebab(1)}"}}, {{2, "{c.kebab(1)}"}}}};',
        "    if (argc > 1) {",
        f'        printf("{c.word()}: %s\\n", argv[1]);',
        "    }",
        f'    printf("total %d\\n", {fn}(items, 2));',
        "    return 0;",
        "}",
    )
