"""The one thing a scenario needs beside HTTP: the accounts its officials sign in with. Accounts have
no REST endpoint (they are administered by command), so whoever runs the service for the scenarios
creates them before the steps run."""
from __future__ import annotations

from app.access import accounts
from app.context import Services
from app.scenarios.model import Scenario


def create_accounts(services: Services, scenario: Scenario) -> None:
    for user, entry in scenario.accounts.items():
        accounts.save_account(services, user, entry["password"], entry["groups"])
