"""Every case of scenarios of each procedure family, rebuilt from its process version and its
recorded history on a simulated clock, reproduces its record step by step and its stored state.
(All scenario files replay so; these cover each family, its registers, decisions and timers.)"""
from __future__ import annotations

import httpx
import pytest

from app.access import accounts
from app.scenarios import load_scenario, run_scenario
from app.scenarios.accounts import create_accounts
from tests.support.paths import SCENARIOS
from tests.support.service import ADMIN_AUTH

FAMILY_CASES = ["iso14000/01_straight_pass.yaml", "eco_park/01_straight_pass.yaml",
                "eco_park/09_data_fraud_revoked_then_ban.yaml", "clean_production/01_listed_enterprise_in_time.yaml",
                "clean_production/04_audit_past_the_year.yaml",
                # 驳回, the statutory clock stopped by elements and by hand, copies by property and by operation
                "iso14000/15_return_clock_and_copy.yaml", "eco_park/16_return_clock_and_copy.yaml",
                "clean_production/09_voluntary_return_paused_and_copied.yaml"]


@pytest.mark.parametrize("name", FAMILY_CASES)
def test_every_case_of_the_scenario_replays_as_reproduced(service, name):
    scenario = load_scenario(SCENARIOS / name)
    create_accounts(service.services, scenario)
    # An auditor who may also read the clean production audits' confidential data (CPA-16).
    accounts.save_account(service.services, "replay-auditor", "replay-auditor-pw", ["auditors", "xj-auditors"])
    with httpx.Client(base_url=service.base_url, auth=ADMIN_AUTH, timeout=60) as http:
        assert run_scenario(http, scenario).passed
    with httpx.Client(base_url=service.base_url, auth=("replay-auditor", "replay-auditor-pw"), timeout=60) as auditor:
        cases = auditor.get("/engine-rest/history/process-instance").json()
        assert cases
        results = {case["id"]: auditor.get(f"/api/process-instances/{case['id']}/replay").json() for case in cases}
    diverged = {case: result for case, result in results.items() if not result["reproduced"]}
    assert not diverged, diverged
    assert all(result["activities"] > 0 for result in results.values())
