"""``python -m captive_portal`` runs the ``portal`` group."""

from captive_portal.cli import portal

portal()
