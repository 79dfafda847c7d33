"""The service's Prometheus instruments that count or time events where they happen.

Gauges read from the database (open tasks, backlogs, incidents) are not here: they are computed when
/metrics is scraped (app.rest.prometheus). With PROMETHEUS_MULTIPROC_DIR set before the service starts,
prometheus_client keeps these values in files of that directory, so that the uvicorn workers of one
host answer one sum; the directory must be emptied before the service starts.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No `_created` series beside each counter and histogram: they double the series and no panel reads them.
disable_created_metrics()

# Labels take values from a bounded set only: route templates (never raw paths), status codes,
# candidate groups and topics of deployed processes.
HTTP_REQUESTS = Counter("eco_http_requests", "HTTP requests answered, by method, route template and status",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("eco_http_request_duration_seconds", "Time to answer an HTTP request",
                          ["method", "route", "status"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
STEP_DURATION = Histogram("eco_engine_step_duration_seconds",
                          "Time one step of an instance takes, from restoring (or starting) its run to "
                          "writing what it did", ["kind"],
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
TIMERS_FIRED = Counter("eco_timers_fired", "Timers fired (intermediate, boundary and start timers)")
TIMER_LAG = Histogram("eco_timer_firing_lag_seconds", "How long after its due instant a timer fired",
                      buckets=(0.5, 1, 2, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400))
SIGNIN_FAILURES = Counter("eco_signin_failures", "Refused sign-ins (wrong or unknown credentials)")
SIGNIN_THROTTLED = Counter("eco_signin_throttled", "Sign-ins answered 429: the account or address is throttled, "
                           "or the account is locked")
# The last verification of the history's hash chains by this host: 1 intact, 0 broken; and when
# (Unix seconds of the service's clock). Several workers: the most recent one's.
VERIFICATION_INTACT_NAME = "eco_history_verification_intact"
VERIFICATION_INTACT = Gauge(VERIFICATION_INTACT_NAME, "Whether the last verification of the history "
                            "found it intact (1) or not (0)", multiprocess_mode="mostrecent")
VERIFICATION_TIME_NAME = "eco_history_verification_timestamp_seconds"
VERIFICATION_TIME = Gauge(VERIFICATION_TIME_NAME, "When the history was last verified "
                          "(Unix seconds)", multiprocess_mode="mostrecent")


def step_timed(kind: str, seconds: float) -> None:
    STEP_DURATION.labels(kind).observe(seconds)


def timer_fired(lag_seconds: float) -> None:
    TIMERS_FIRED.inc()
    TIMER_LAG.observe(max(0.0, lag_seconds))


def verified(intact: bool, at_seconds: float) -> None:
    VERIFICATION_INTACT.set(1 if intact else 0)
    VERIFICATION_TIME.set(at_seconds)
