"""The CLI stays thin: each command handler makes one call into the library and prints what it returns;
and every command is in README.md's "Everyday use" block."""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from typing import Any

from conftest import ROOT

from sharebot.cli import build_parser

CLI = ROOT / "src" / "sharebot" / "cli.py"

# Library calls that are not a command's work: laying out its result (and writing it where --output says)...
PRESENTATION = ("sharebot.output.", "sharebot.jsonout.", "sharebot.terminal.", "sharebot.links.share_html",
                "sharebot.files.write_whole")
# ...and the plumbing all commands share: settings, the queue session, option values, the publish request.
PLUMBING = ("sharebot.config.load_settings", "sharebot.app.open_queue", "sharebot.app.open_queue_if_there",
            "sharebot.app.Adapters",
            "sharebot.when.parse_duration", "sharebot.pipeline.PublishRequest")


def imported_names(node: ast.AST) -> dict[str, str]:
    """Local name -> what it is in the library ("sharebot.app", "sharebot.when.parse_duration"), for the
    imports directly in `node`'s body (a module's or a function's)."""
    bound = {}
    for statement in ast.walk(node):
        if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith("sharebot"):
            for alias in statement.names:
                bound[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name.startswith("sharebot"):
                    bound[alias.asname or alias.name] = alias.name
    return bound


def library_calls(function: ast.AST, module_names: dict[str, str]) -> list[str]:
    """Every call in `function` (nested lambdas included) into a `sharebot` module, by full name."""
    bound = {**module_names, **imported_names(function)}
    calls = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Name) and target.id in bound:
            calls.append(bound[target.id])
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in bound:
            calls.append(f"{bound[target.value.id]}.{target.attr}")
    return calls


def work(calls: list[str]) -> list[str]:
    return [c for c in calls if not c.startswith(PRESENTATION) and c not in PLUMBING]


def functions(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, ast.FunctionDef))


def cli_tree() -> tuple[ast.Module, dict[str, str]]:
    tree = ast.parse(CLI.read_text(encoding="utf-8"))
    module_names = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module_names.update(imported_names(node))
    return tree, module_names


def test_every_command_handler_makes_exactly_one_library_call():
    tree, module_names = cli_tree()
    handlers = {f.name: work(library_calls(f, module_names)) for f in functions(tree) if f.name.startswith("cmd_")}
    assert len(handlers) >= 10
    assert {name: calls for name, calls in handlers.items() if len(calls) != 1} == {}


def test_helpers_in_the_cli_only_lay_out_or_plumb():
    tree, module_names = cli_tree()
    # keyed by line too: several classes have an __init__
    helpers = {f"{f.name}:{f.lineno}": work(library_calls(f, module_names)) for f in functions(tree)
               if not f.name.startswith("cmd_")}
    assert {name: calls for name, calls in helpers.items() if calls} == {}


def test_the_check_sees_a_second_call_and_a_call_through_an_alias():
    source = (
        "def cmd_fat(run):\n"
        "    from sharebot import app, output\n"
        "    from sharebot.queue import retry as again\n"
        "    with QueueSession(run.settings) as (store, _):\n"
        "        jobs = app.status(store, run.args.slug)\n"
        "        again(store, jobs[0].id, run.clock())\n"
        "    run.on(lambda: app.run_worker())\n"
        "    run.echo(output.jobs_text(jobs))\n"
    )
    [function] = ast.parse(source).body
    assert work(library_calls(function, {})) == ["sharebot.app.status", "sharebot.queue.retry",
                                                  "sharebot.app.run_worker"]


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from commands(sub, path + (name,))


def test_every_command_runs_a_handler_the_check_covers():
    for path, parser in commands(build_parser()):
        handler = parser.get_default("handler")
        assert handler is not None and handler.__name__.startswith("cmd_"), path


def test_every_command_and_subcommand_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Everyday use\s+```sh\n(.*?)```", readme, re.S)
    assert block, "README.md has no ```sh block under '## Everyday use'"
    lines = [line.split() for line in block.group(1).splitlines() if line.startswith("sharebot ")]
    for path, _ in commands(build_parser()):
        command, *sub = path
        documented = [words for words in lines if words[1] == command]
        assert documented, f"`sharebot {command}` is not in README.md's Everyday use"
        for word in sub:
            assert any(re.search(rf"\b{word}\b", " ".join(words)) for words in documented), \
                f"`sharebot {' '.join(path)}` is not in README.md's Everyday use"
