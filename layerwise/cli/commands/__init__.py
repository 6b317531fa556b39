"""The subcommands of ``layerwise``: every public module here is one.

A command module defines

    NAME = "launch"                 # the subcommand's name
    ORDER = 60                      # its place in `layerwise --help` (smaller first)
    HELP = "one line for `layerwise --help`"
    DESCRIPTION = "the paragraph at the top of `layerwise launch --help`"

    def add_arguments(parser): ...  # its options, on an argparse parser
    def run(args): ...              # do it; return the exit status (None means 0)

and ``layerwise.cli.main`` finds it (modules whose name starts with ``_`` are skipped), so
adding a command is adding one file.  ``run`` raises ``layerwise.cli.UserError`` for a
mistake of the user's: it is printed as one sentence with exit status 2.
"""
