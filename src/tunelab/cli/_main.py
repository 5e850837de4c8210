"""The ``tunelab`` command group and its single error channel.

Bad input raises :class:`~tunelab.errors.TunelabError` anywhere below; here it becomes one
line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

from typing import Any

import click

from tunelab import __version__
from tunelab.errors import TunelabError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TunelabError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tunelab")
def main() -> None:
    """Tune neural networks step by step: look at a landscape, then tune topology,
    learning rate and schedule, optimizer and loss, batch size and epochs, with
    real search, pruning and evidence before adopting a change."""


def _register() -> None:
    from tunelab.cli._data import data
    from tunelab.cli._guide import guide
    from tunelab.cli._landscape import landscape
    from tunelab.cli._report import dashboard, report
    from tunelab.cli._train import train
    from tunelab.cli._tune import best, trials, tune

    main.add_command(data)
    main.add_command(guide)
    main.add_command(landscape)
    main.add_command(report)
    main.add_command(train)
    main.add_command(dashboard)
    main.add_command(tune)
    main.add_command(trials)
    main.add_command(best)


_register()
