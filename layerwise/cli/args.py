"""Argument checking for the commands: argparse types that refuse values out of range, and a
parser whose errors are one line.  Every option is checked here, before anything runs, so a bad
value costs no training and prints one sentence with exit status 2."""
from __future__ import annotations

import argparse
import math


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``PROG: error: MESSAGE`` (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int(text, low, what):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text):
    """An integer ≥ 1 (a count of steps, epochs, examples, threads...)."""
    return _int(text, 1, "an integer >= 1")


def nonnegative_int(text):
    """An integer ≥ 0 (a seed, a length, an interval where 0 means never)."""
    return _int(text, 0, "an integer >= 0")


def positive_float(text):
    """A finite number > 0 (a learning rate, a temperature): NaN and infinity are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value
