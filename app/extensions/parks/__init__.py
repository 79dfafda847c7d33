"""The eco-industrial park register and the expert pool (seed 001, ECO-18, ECO-19, ECO-20).

- `register`: each park's standing (in creation, named, under an exit warning, revoked with its ECO-18
  cause and the last day of its ECO-19 re-application ban, stopped or incomplete);
- `experts`: the experts, the conflicts they declared with parks (recusal, 回避) and every random
  draw, recorded so that an auditor can recompute it from the row alone (see `experts.rank`);
- `hooks`: what processes switch on with camunda:properties, so that no process text runs as code:
  `parkStanding` on a flow node records the case's park's standing when the node completes,
  `expertDraw` and `expertCount` on a user task draw experts for the park when it opens and offer
  it to them; the expression functions `parkApplicationBar(park_id)` and `parkStanding(park_id)`.
"""
