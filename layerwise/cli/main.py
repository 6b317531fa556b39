"""``layerwise COMMAND ...``: the parser, built from the modules of ``commands/``, and ``main``."""
from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from . import commands
from .args import Parser
from .errors import UserError


def command_modules():
    """The command modules of ``layerwise.cli.commands``, in their ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return sorted(found, key=lambda m: (m.ORDER, m.NAME))


def build_parser():
    p = Parser(
        prog="layerwise", description="layerwise: deep-learning layers on NumPy, with PyTorch's API.",
        epilog="Run 'layerwise COMMAND --help' for the options of a command.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run)
    return p


def main(argv=None):
    """Run ``layerwise`` with ``argv`` (default: the process's arguments); return the exit
    status: 0; 2 for a mistake of the user's (one sentence on stderr; a bad option exits 2 from
    the parser, as SystemExit); 1 when training diverged (one sentence); 130 on Ctrl-C."""
    from ..tools.trainer import NonFiniteLossError
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except UserError as e:
        print(f"layerwise: error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLossError as e:
        print(f"layerwise: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("layerwise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                  # output piped into `head` and closed: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":
    sys.exit(main())
