"""All configuration of the service, read once from the environment."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting NAME may instead be given as NAME_FILE, the path of a file holding its value (a
    mounted secret: Docker and Kubernetes secrets, systemd credentials); its final line break is dropped."""

    # A refused setting is named without its value: the values hold keys and passwords.
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    # "development" allows the demonstration conveniences; "production" refuses them.
    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'orchestrator.sqlite3'}"
    # Directory whose *.bpmn files are deployed at start (duplicate-filtered), empty to skip.
    deploy_on_start: str = ""
    clock: Literal["system", "simulated"] = "system"
    # Official time of the procedures: deadlines and dates shown to people use it.
    timezone: str = "Asia/Shanghai"
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Parsed process specs kept in memory per worker, by definition id.
    spec_cache_size: int = Field(default=256, ge=1)
    # Running instances whose restored workflow is kept in memory per worker between their steps
    # (0: restore every step from the saved state).
    run_cache_size: int = Field(default=1000, ge=0, le=1_000_000)
    db_pool_size: int = Field(default=10, ge=1)
    # Bring the schema to the newest revision at start (and in `eco-orchestrator worker`); turn off where
    # `eco-orchestrator migrate` runs apart (a one-shot job): a start then refuses a schema not at the newest.
    migrate_on_start: bool = True
    # Fire due timers from a thread of the service; turn off where separate workers do it.
    timer_worker: bool = True
    timer_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # Camunda's history cleanup (POST /history/cleanup): whether it may run, the daily window in which
    # the timer worker deletes the histories whose retention has passed ("HH:MM", official time; an
    # end before the start spans midnight; neither: only when scheduled by hand), and how many cases
    # one worker pass deletes before the next pass continues.
    history_cleanup_enabled: bool = True
    history_cleanup_batch_window_start_time: str = Field(default="", pattern=r"^(|([01]\d|2[0-3]):[0-5]\d)$")
    history_cleanup_batch_window_end_time: str = Field(default="", pattern=r"^(|([01]\d|2[0-3]):[0-5]\d)$")
    history_cleanup_batch_size: int = Field(default=500, ge=1, le=10_000)
    # A deadline is shown as a warning (预警) when this many working days or fewer remain.
    deadline_warning_working_days: int = Field(default=3, ge=0, le=60)
    # "user:password" of the first administrator, created at start while no administrator exists;
    # without it one named "admin" is created with a generated password, logged once.
    bootstrap_admin: str = ""
    # Where the generated password of that administrator is written (a file created for the owner
    # only); without it the password is shown on the terminal (stderr) when there is one, in the plain
    # text log otherwise, and never in a JSON log.
    admin_password_file: str = Field(default="", max_length=4096)
    # Seed demonstration accounts (one per authority, known passwords); development only.
    demo_accounts: bool = False
    # Bearer tokens (JWT) of the single sign-on: accepted when JWT_ISSUER and JWT_KEYS are set. JWT_KEYS
    # is a PEM public key, or the path of a file holding a PEM public key or a JWKS document.
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_keys: str = ""
    jwt_algorithms: str = "RS256,ES256"
    # The claims that name the user, their groups (a list) and their region.
    jwt_user_claim: str = "sub"
    jwt_groups_claim: str = "groups"
    jwt_region_claim: str = "region"

    # --- Bounds on what one request may ask of the service (README: Security, limits) ---
    # Lists answer this many rows when maxResults is not given, and never more than page_size_max.
    page_size_default: int = Field(default=100, ge=1, le=100_000)
    page_size_max: int = Field(default=1000, ge=1, le=100_000)
    # How deeply variable values (JSON objects and lists) may nest.
    max_variable_depth: int = Field(default=32, ge=2, le=200)
    # The largest Bytes or File variable; a JSON body carries it as base64 (a third larger), within
    # max_request_bytes.
    max_binary_variable_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)
    # All the variables of a task of no process together, as JSON: they are kept in its row.
    standalone_task_variables_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The shortest period a timer cycle may repeat at, and how many firings of one schedule a worker
    # pass makes (the rest wait for the next pass).
    timer_cycle_minimum_seconds: int = Field(default=1, ge=1)
    timer_firings_per_pass: int = Field(default=100, ge=1, le=100_000)
    # The most targets (cases, external tasks) one batch may name, and how many of a batch's targets
    # the timer worker runs in one pass (Camunda's batchJobsPerSeed), each in its own unit of work.
    batch_max_targets: int = Field(default=10_000, ge=1, le=1_000_000)
    batch_jobs_per_pass: int = Field(default=100, ge=1, le=100_000)
    # CPU seconds one evaluation of user input by Python (an expression, a decision) may take.
    evaluation_seconds: float = Field(default=2.0, gt=0, le=60)
    # How often a long-polling fetchAndLock looks again on its own: for locks that ran out, which
    # nothing announces (new work wakes it at once, on PostgreSQL from any replica).
    long_poll_recheck_seconds: float = Field(default=1.0, gt=0, le=60)

    # --- Sign-in throttling ---
    # Failed sign-ins of one account or one client address within signin_window_seconds before
    # further tries answer 429; past signin_lockout_failures the account is locked for
    # signin_lockout_seconds.
    signin_window_seconds: int = Field(default=300, ge=1)
    signin_throttle_failures: int = Field(default=5, ge=1)
    signin_lockout_failures: int = Field(default=20, ge=1)
    signin_lockout_seconds: int = Field(default=900, ge=1)
    # Password (scrypt) verifications that may run at once in one process; more wait their turn.
    signin_concurrent_verifications: int = Field(default=4, ge=1, le=64)
    # scrypt's cost of the password hashes written from now on, as a power of two: each hash and each
    # verification takes 2 ** (cost - 3) KiB and time in proportion (14: 16 MiB). A hash keeps the
    # cost it was written with and verifies at it.
    password_hash_cost: int = Field(default=14, ge=10, le=17)

    # --- Operations: logs and metrics (README: Operations) ---
    # "plain" text lines, or "json": one object a line, with the request's id, route, status and duration.
    log_format: Literal["plain", "json"] = "plain"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # GET /metrics answers a caller sending `Authorization: Bearer <METRICS_TOKEN>`; with METRICS_OPEN=true
    # it answers everybody (for a port only the scraper reaches). Neither: it answers 404.
    metrics_token: SecretStr = SecretStr("")
    metrics_open: bool = False

    # --- The web workspace (/app/) ---
    # The key that signs its session cookies; empty: derived from the anchor signing key, so that
    # every replica signs alike and nothing more is kept.
    web_session_secret: SecretStr = SecretStr("")
    # How long a sign-in lasts.
    web_session_hours: int = Field(default=8, ge=1, le=24 * 30)
    # Tasks shown on one page of the inbox.
    web_page_size: int = Field(default=20, ge=1, le=200)

    # --- Materials (材料) attached to tasks ---
    # Where their content is kept: "database" (a table beside the case), "directory" (files named by
    # their SHA-256 under attachment_directory, which the service must be able to write) or "s3" (objects
    # named by their SHA-256 in a bucket of an S3-compatible store; needs the extra eco-orchestrator[s3]).
    attachment_store: Literal["database", "directory", "s3"] = "database"
    attachment_directory: str = ""
    # The S3-compatible store: its endpoint (empty: AWS S3 of the region), bucket and region, the key
    # pair (both empty: the credentials boto3 finds itself, such as an instance role), a prefix for the
    # objects' keys, and path-style addressing (endpoint/bucket/key, as MinIO and Ceph usually want)
    # instead of virtual-hosted (bucket.endpoint/key, as AWS and Aliyun OSS want).
    attachment_s3_endpoint_url: str = Field(default="", max_length=2048)
    attachment_s3_bucket: str = Field(default="", max_length=255)
    attachment_s3_region: str = Field(default="", max_length=64)
    attachment_s3_access_key_id: str = Field(default="", max_length=255)
    attachment_s3_secret_access_key: SecretStr = SecretStr("")
    attachment_s3_prefix: str = Field(default="", max_length=512)
    attachment_s3_path_style: bool = False
    # The largest file accepted; the whole request is also bounded by max_request_bytes.
    attachment_max_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)
    # The content types accepted (each checked against the file's first bytes).
    attachment_types: str = ("application/pdf,application/ofd,image/jpeg,image/png,text/plain,application/zip,"
                             "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # --- Anchors of the history, signed with a key the database does not hold ---
    # A PEM Ed25519 private key, or the path of a file holding one. Empty in development: a key is
    # generated beside the SQLite database (data/anchor-signing.pem); required in production.
    anchor_signing_key: str = ""
    # An append-only file every anchor is also written to (one JSON line each), to be shipped off the
    # database's machine; empty: data/anchors.jsonl beside the SQLite database, none for PostgreSQL.
    anchor_log: str = ""

    @model_validator(mode="before")
    @classmethod
    def _read_file_variables(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        environment = {name.lower(): value for name, value in os.environ.items()}
        for field in cls.model_fields:
            path = environment.get(f"{field}_file", "")
            if not path:
                continue
            variable = field.upper()
            if field in environment:
                raise ValueError(f"{variable} and {variable}_FILE are both set: give one of them")
            if field in values:  # given by the caller, not by the environment
                continue
            try:
                values[field] = Path(path).read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
            except OSError as error:
                raise ValueError(f"{variable}_FILE names a file that cannot be read: {path} "
                                 f"({error.strerror})") from None
            except UnicodeError:
                raise ValueError(f"{variable}_FILE names a file that is not UTF-8 text: {path}") from None
        return values

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.environment == "production" and self.clock == "simulated":
            raise ValueError("CLOCK=simulated cannot be used with ENVIRONMENT=production")
        if self.environment == "production" and self.demo_accounts:
            raise ValueError("DEMO_ACCOUNTS=true cannot be used with ENVIRONMENT=production: demonstration "
                             "accounts have published passwords")
        if self.environment == "production" and not self.anchor_signing_key.strip():
            raise ValueError("ANCHOR_SIGNING_KEY must be set with ENVIRONMENT=production: a PEM Ed25519 private "
                             "key, or the path of a file holding one, never stored in the database "
                             "(openssl genpkey -algorithm ed25519)")
        if bool(self.history_cleanup_batch_window_start_time) != bool(self.history_cleanup_batch_window_end_time):
            raise ValueError("HISTORY_CLEANUP_BATCH_WINDOW_START_TIME and HISTORY_CLEANUP_BATCH_WINDOW_END_TIME are "
                             "given together (HH:MM, official time), or neither")
        if self.attachment_store == "directory" and not self.attachment_directory.strip():
            raise ValueError("ATTACHMENT_STORE=directory needs ATTACHMENT_DIRECTORY, the directory the files go to")
        if self.attachment_store == "s3":
            self._check_s3()
        return self

    def _check_s3(self) -> None:
        if not self.attachment_s3_bucket.strip():
            raise ValueError("ATTACHMENT_STORE=s3 needs ATTACHMENT_S3_BUCKET, the bucket the files go to")
        endpoint = self.attachment_s3_endpoint_url.strip()
        if endpoint and not endpoint.startswith(("https://", "http://")):
            raise ValueError("ATTACHMENT_S3_ENDPOINT_URL is the store's http(s) address, such as "
                             "https://oss-cn-hangzhou.aliyuncs.com or http://minio.internal:9000")
        if not endpoint and not self.attachment_s3_region.strip():
            raise ValueError("ATTACHMENT_STORE=s3 needs ATTACHMENT_S3_REGION, or ATTACHMENT_S3_ENDPOINT_URL for a "
                             "store other than AWS S3")
        secret = self.attachment_s3_secret_access_key.get_secret_value()
        if bool(self.attachment_s3_access_key_id.strip()) != bool(secret):
            raise ValueError("ATTACHMENT_S3_ACCESS_KEY_ID and ATTACHMENT_S3_SECRET_ACCESS_KEY are given together, "
                             "or neither (the credentials of the machine, such as an instance role)")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
