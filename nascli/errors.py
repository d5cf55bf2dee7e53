"""Exceptions that the CLI turns into one clear line and an exit code."""

from __future__ import annotations


class NasInputError(Exception):
    """Bad input from the user (file, flag, recipe, genotype): the CLI prints it and exits with code 2.

    The message names the problem and, where one exists, the fix.
    """


class NasRuntimeError(Exception):
    """A failure inside a stage that is not the user's input (exit code 1)."""


class StageInterrupted(Exception):
    """A stage stopped on SIGINT/SIGTERM after saving a checkpoint; `--resume` continues it (exit code 130)."""
