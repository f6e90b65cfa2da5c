"""An offline WeChat for development and tests: its rules (``rules``, ``server_apis``), how it
answers (``answers``) and how it is reached (``http``, ``transport``)."""

from .http import create_simulator_app, init_simulator
from .rules import Simulator
from .transport import SimulatorAdapter

__all__ = ["Simulator", "SimulatorAdapter", "create_simulator_app", "init_simulator"]
