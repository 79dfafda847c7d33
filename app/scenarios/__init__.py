"""Scenarios: administrative cases told step by step in YAML files, run against the service on its
simulated clock, as the proof that the procedures behave as the rules say (docs/scenarios.md)."""
from app.scenarios.model import Scenario, ScenarioError, load_scenario
from app.scenarios.runner import ScenarioFailed, ScenarioResult, run_scenario

__all__ = ["Scenario", "ScenarioError", "ScenarioFailed", "ScenarioResult", "load_scenario", "run_scenario"]
