"""The eco-industrial park register (ECO-18, ECO-19) and the expert pool's random draws with recusal
(ECO-20), over real HTTP."""
from __future__ import annotations

import hashlib

from sqlalchemy import text


def standing(root, park_id, status, since, cause=None, **extra):
    body = {"parkName": f"{park_id} 生态工业园区", "province": "江苏", "status": status, "since": since,
            "cause": cause, **extra}
    return root.put(f"/api/parks/{park_id}/standing", json=body)


def check(root, park_id, on=None):
    response = root.get(f"/api/parks/{park_id}/application-check", params={"on": on} if on else None)
    assert response.status_code == 200, response.text
    return response.json()


def set_clock(root, instant):
    assert root.post("/api/clock", json={"set": instant}).status_code == 200


def add_experts(root, count, prefix="exp"):
    ids = [f"{prefix}-{n:02d}" for n in range(count)]
    for expert_id in ids:
        response = root.post("/api/experts", json={"id": expert_id, "name": f"专家{expert_id}",
                                                   "specialty": "环境工程", "organization": "环科院"})
        assert response.status_code == 200, response.text
    return ids


def draw(root, park_id, count, purpose="acceptance"):
    return root.post("/api/expert-draws", json={"parkId": park_id, "purpose": purpose, "count": count})


def test_revocation_for_data_fraud_bars_a_new_creation_for_five_years(root):
    assert standing(root, "sz-eip", "named", "2024-01-10").status_code == 200
    revoked = standing(root, "sz-eip", "revoked", "2027-03-15", "data_fraud", processInstanceId="pi-1")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["banUntil"] == "2032-03-15" and revoked.json()["decidedByInstanceId"] == "pi-1"

    set_clock(root, "2030-06-01T09:00:00+08:00")  # year 4: refused, by today's date on the service clock
    refused = check(root, "sz-eip")
    assert refused["on"] == "2030-06-01" and refused["allowed"] is False
    assert "data_fraud" in refused["reason"] and "2032-03-15" in refused["reason"]
    assert check(root, "sz-eip", "2032-03-15")["allowed"] is False  # the ban's last day

    set_clock(root, "2032-03-16T09:00:00+08:00")  # after year 5
    assert check(root, "sz-eip") == {**check(root, "sz-eip", "2032-03-16"), "on": "2032-03-16"}
    assert check(root, "sz-eip")["allowed"] is True and check(root, "sz-eip")["reason"] is None


def test_voluntary_withdrawal_bars_a_new_creation_for_three_years(root):
    assert standing(root, "wx-eip", "revoked", "2027-05-10", "voluntary_withdrawal").json()["banUntil"] == "2030-05-10"
    year_three = check(root, "wx-eip", "2030-05-10")
    assert year_three["allowed"] is False and "3 years" in year_three["reason"]
    assert check(root, "wx-eip", "2030-05-11")["allowed"] is True
    # Nothing recorded during the ban can lift it.
    assert standing(root, "wx-eip", "stopped", "2028-01-05", "停止创建").status_code == 400
    assert check(root, "wx-eip", "2029-01-05")["allowed"] is False
    # 29 February: the same day three years later is 28 February.
    assert standing(root, "leap", "revoked", "2028-02-29", "other").json()["banUntil"] == "2031-02-28"


def test_a_park_in_creation_or_named_cannot_apply_again(root):
    standing(root, "a", "creating", "2026-03-01")
    standing(root, "b", "named", "2025-03-01")
    for park in ("a", "b"):
        answer = check(root, park, "2026-10-01")
        assert answer["allowed"] is False and "cannot start a second creation" in answer["reason"]
    standing(root, "c", "incomplete", "2026-03-01")
    standing(root, "d", "stopped", "2026-03-01", "重大变更未报告")
    assert check(root, "c")["allowed"] and check(root, "d")["allowed"] and check(root, "unknown")["allowed"]
    # A banned park cannot be recorded as in creation while the ban runs.
    standing(root, "e", "revoked", "2026-01-05", "central_inspection")
    refused = standing(root, "e", "creating", "2029-01-05")
    assert refused.status_code == 400 and "2031-01-05" in refused.json()["message"]
    assert standing(root, "e", "creating", "2031-01-06").status_code == 200

    listed = root.get("/api/parks", params={"status": "creating"}).json()
    assert [p["parkId"] for p in listed] == ["a", "e"]
    assert root.get("/api/parks/b").json()["status"] == "named"
    assert root.get("/api/parks/nowhere").status_code == 404


def test_bad_standing_and_checks_are_refused_naming_the_field(root):
    for fields, name in [({"status": "dissolved"}, "status"), ({"status": "revoked"}, "cause"),
                         ({"status": "revoked", "cause": "bad_luck"}, "cause"), ({"since": "2027-02-30"}, "since"),
                         ({"parkName": ""}, "parkName")]:
        body = {"parkName": "园区", "province": "江苏", "status": "named", "since": "2027-01-01", **fields}
        response = root.put("/api/parks/p/standing", json=body)
        assert response.status_code == 400 and name in response.json()["message"], (fields, response.text)
    assert root.get("/api/parks/p").status_code == 404
    assert root.get("/api/parks/p/application-check", params={"on": "2027-13-01"}).status_code == 400
    assert root.get("/api/parks", params={"status": "x"}).status_code == 400


def test_a_draw_recuses_conflicts_skips_inactive_experts_and_reproduces(root):
    standing(root, "park", "creating", "2026-03-01")
    ids = add_experts(root, 6)
    assert root.put(f"/api/experts/{ids[1]}", json={"active": False}).json()["active"] is False
    conflict = root.post(f"/api/experts/{ids[2]}/conflicts", json={"parkId": "park", "reason": "曾参与园区规划编制"})
    assert conflict.status_code == 200, conflict.text
    root.post(f"/api/experts/{ids[3]}/conflicts", json={"parkId": "other-park", "reason": "任职"})

    response = root.post("/api/expert-draws", json={"parkId": "park", "purpose": "acceptance", "count": 3,
                                                    "processInstanceId": "pi-9", "userId": "mee-official"})
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["eligible"] == [ids[0], ids[3], ids[4], ids[5]]
    assert made["excluded"] == [{"expertId": ids[2], "reason": "曾参与园区规划编制"}]
    assert len(made["drawn"]) == len(set(made["drawn"])) == 3 and set(made["drawn"]) <= set(made["eligible"])
    assert len(made["seed"]) == 32 and made["algorithm"] == "sha256-rank-v1" and made["drawnBy"] == "mee-official"
    assert root.get(f"/api/expert-draws/{made['id']}").json() == made

    # An auditor recomputes the draw from the recorded row alone.
    def key(expert_id):
        return hashlib.sha256(f"{made['seed']}:{expert_id}".encode()).hexdigest()
    assert sorted(made["eligible"], key=key)[:3] == made["drawn"]
    verification = root.get(f"/api/expert-draws/{made['id']}/verification").json()
    assert verification["reproduced"] is True and verification["recomputed"] == made["drawn"]

    too_many = draw(root, "park", 5)
    assert too_many.status_code == 400 and "only 4" in too_many.json()["message"]
    assert draw(root, "park", 0).status_code == 400 and "count" in draw(root, "park", 0).json()["message"]
    assert "purpose" in draw(root, "park", 2, purpose="audit").json()["message"]
    assert draw(root, "nowhere", 1).status_code == 400
    experts = {e["id"]: e for e in root.get("/api/experts").json()}
    assert experts[ids[2]]["conflicts"][0]["parkId"] == "park" and experts[ids[1]]["active"] is False
    assert [e["id"] for e in root.get("/api/experts", params={"active": "false"}).json()] == [ids[1]]
    assert root.post("/api/experts", json={"id": ids[0], "name": "x", "specialty": "y",
                                           "organization": "z"}).status_code == 400
    assert root.put("/api/experts/nobody", json={"active": False}).status_code == 404
    assert root.post("/api/experts/nobody/conflicts", json={"parkId": "park", "reason": "r"}).status_code == 404
    assert root.get("/api/expert-draws/none/verification").status_code == 404


def test_a_draw_whose_seed_was_changed_in_the_database_no_longer_verifies(root, service):
    standing(root, "park", "named", "2026-03-01")
    add_experts(root, 10)
    made = draw(root, "park", 4, purpose="evaluation").json()
    with service.services.db.write() as session:
        session.execute(text("UPDATE expert_draw SET seed = :seed WHERE id = :id"),
                        {"seed": "0" * 32, "id": made["id"]})
    verification = root.get(f"/api/expert-draws/{made['id']}/verification").json()
    assert verification["reproduced"] is False and verification["drawn"] == made["drawn"]
    assert verification["recomputed"] != made["drawn"] and verification["seed"] == "0" * 32


def test_draws_with_different_seeds_differ(root):
    standing(root, "park", "named", "2026-03-01")
    add_experts(root, 20)
    draws = [draw(root, "park", 5, purpose="evaluation").json() for _ in range(6)]
    assert len({d["seed"] for d in draws}) == 6
    assert len({tuple(d["drawn"]) for d in draws}) > 1
    assert all(len(set(d["drawn"])) == 5 for d in draws)


def test_a_draw_must_fit_the_parks_standing(root):
    """Acceptance experts judge a park in creation; evaluation experts a named or warned one."""
    standing(root, "in-creation", "creating", "2026-03-01")
    standing(root, "named-park", "named", "2026-03-01")
    add_experts(root, 6)
    refused = draw(root, "in-creation", 3, purpose="evaluation")
    assert refused.status_code == 400 and "it is creating" in refused.json()["message"]
    refused = draw(root, "named-park", 3, purpose="acceptance")
    assert refused.status_code == 400 and "it is named" in refused.json()["message"]
    assert draw(root, "named-park", 3, purpose="evaluation").status_code == 200
    standing(root, "named-park", "warned", "2027-03-01")
    assert draw(root, "named-park", 3, purpose="evaluation").status_code == 200
    listed = root.get("/api/expert-draws", params={"parkId": "named-park"}).json()
    assert [d["purpose"] for d in listed] == ["evaluation", "evaluation"]
    assert root.get("/api/expert-draws", params={"parkId": "in-creation"}).json() == []
