"""``python -m agents.backhaul``: the same commands as ``oasis agent backhaul``."""

from agents.backhaul.cli import backhaul

if __name__ == "__main__":
    backhaul(prog_name="oasis agent backhaul")
