"""Simulated access points speaking real SNMP: one process, one loopback address per AP.

Public entry points: ``SimulatorSettings`` and ``ApSimulator`` (asyncio), ``SimulatorThread``
(a simulator on its own thread, for tests and embedding), ``simulated_inventory`` /
``simulated_sites`` (what to seed the controller with), ``send_command`` (control a running
simulator), and the ``apsim`` click group in ``agents.apsim.cli``. See docs/apsim.md.
"""

from agents.apsim.control import ControlError, send_command
from agents.apsim.inventory import simulated_inventory, simulated_sites
from agents.apsim.runner import SimulatorThread
from agents.apsim.simulator import ApSimulator, SimulatorSettings

__all__ = ["ApSimulator", "ControlError", "SimulatorSettings", "SimulatorThread",
           "send_command", "simulated_inventory", "simulated_sites"]
