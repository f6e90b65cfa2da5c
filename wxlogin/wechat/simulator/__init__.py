"""An offline WeChat for development and tests: its rules (``rules``, ``server_apis``) and
how it is reached (``wire``)."""

from .rules import Simulator
from .wire import SimulatorAdapter, create_simulator_app, init_simulator

__all__ = ["Simulator", "SimulatorAdapter", "create_simulator_app", "init_simulator"]
