"""Logging set-up shared by every command and process: ``-v`` for info, ``-vv`` for debug."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(verbose: int) -> None:
    """Log to stderr at WARNING, INFO (verbose 1) or DEBUG (2 and more)."""
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format=FORMAT)


__all__ = ["FORMAT", "configure"]
