"""Every command of the `mirror-kit` tree, including ones added later, documents itself."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mirror_kit.cli import group


def walk(cmd: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(path, cmd)]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            out += walk(cmd.commands[name], (*path, name))
    return out


COMMANDS = walk(group)
IDS = [" ".join(p) or "mirror-kit" for p, _ in COMMANDS]


def test_the_tree_has_the_store_commands():
    names = set(IDS)
    for expected in ("init", "migrate status", "migrate up", "migrate down", "migrate history", "migrate verify",
                     "identity add", "identity list", "add", "stats", "demo"):
        assert expected in names, expected


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=IDS)
def test_every_command_has_help_text_and_help_works(path, cmd):
    name = "mirror-kit " + " ".join(path)
    assert (cmd.help or "").strip(), f"`{name}` has no help text (docstring)"
    result = CliRunner().invoke(group, [*path, "--help"], prog_name="mirror-kit")
    assert result.exit_code == 0, f"`{name} --help` failed: {result.output}"
    assert result.output.startswith(f"Usage: {name.strip()} "), f"`{name} --help` printed no usage"
    first_line = " ".join(cmd.help.strip().splitlines()[0].split())
    assert first_line in " ".join(result.output.split()), f"`{name} --help` does not show its help"


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=IDS)
def test_every_option_has_help_text(path, cmd):
    missing = [p.opts[0] for p in cmd.params if isinstance(p, click.Option) and not p.hidden
               and not (p.help or "").strip()]
    assert not missing, f"`mirror-kit {' '.join(path)}`: option(s) {', '.join(missing)} have no help text"


@pytest.mark.parametrize("path, cmd", [(p, c) for p, c in COMMANDS if not isinstance(c, click.Group)],
                         ids=[i for i, (_, c) in zip(IDS, COMMANDS, strict=True) if not isinstance(c, click.Group)])
def test_every_leaf_command_help_shows_an_example(path, cmd):
    assert "mirror-kit " in cmd.help and "Example" in cmd.help, (
        f"`mirror-kit {' '.join(path)}` --help has no `Example: mirror-kit ...` line")
