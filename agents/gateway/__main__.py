"""``python -m agents.gateway`` runs the ``gateway`` group (as ``oasis agent gateway`` does)."""

from agents.gateway.cli import gateway

gateway()
