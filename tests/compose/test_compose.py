"""docker-compose.yaml, docker/Dockerfile and .env.example agree with the repository and the code.

Docker itself is not needed (nor available in CI): the files are parsed and cross-checked —
paths exist, the image puts DAGs/plugins/dbt where Airflow is told to look, every variable the
compose file uses is documented in .env.example, every connection and setting the code reads is
passed to Airflow, ports do not clash and every long-running service has a healthcheck.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

from webinar_dwh.config import DEFAULT_CONN_IDS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict] = COMPOSE["services"]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
CELERY_SERVICES = ("airflow-worker", "airflow-flower")
VAR_RE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env.example: not KEY=VALUE: {line!r}"
        values[key] = value.strip("'\"")
    return values


ENV_EXAMPLE = _env_example()


def _substitute(text: str) -> str:
    """Resolve ${VAR}, ${VAR:-default} with .env.example values (like `docker compose config`)."""

    def repl(m: re.Match) -> str:
        name = m.group(1)
        default = re.search(r":?-(.*)\}$", m.group(0))
        return ENV_EXAMPLE.get(name) or (default.group(1) if default else "")

    return VAR_RE.sub(repl, text)


def _dockerfile() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(ENV/ARG values, [(COPY source, destination)]) of docker/Dockerfile, ${VAR} resolved."""
    text = (ROOT / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    copies: list[tuple[str, str]] = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        instr, rest = words[0].upper(), [re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), w)
                                         for w in words[1:]]
        if instr in {"ENV", "ARG"}:
            for item in rest:
                if "=" in item:
                    key, _, value = item.partition("=")
                    env[key] = value
        elif instr == "COPY":
            *sources, dest = [w for w in rest if not w.startswith("--")]
            copies += [(s, dest) for s in sources]
    return env, copies


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def test_compose_parses_and_has_the_deployment_services():
    expected = {"postgres", "airflow-init", *AIRFLOW_SERVICES, "dashboard", "sandbox"}
    assert expected <= set(SERVICES)
    assert SERVICES["sandbox"].get("profiles") == ["sandbox"], "the sandbox must be opt-in"
    for name in (*AIRFLOW_SERVICES, "dashboard", "postgres", "airflow-init"):
        assert not SERVICES[name].get("profiles"), f"{name} must start by default"
    for name in AIRFLOW_SERVICES:
        assert _substitute(_environment(SERVICES[name])["AIRFLOW__CORE__EXECUTOR"]) == "LocalExecutor"


def test_build_contexts_dockerfiles_and_mounted_paths_exist():
    for name, svc in SERVICES.items():
        build = svc.get("build")
        if build:
            context = ROOT / (build["context"] if isinstance(build, dict) else build)
            assert context.is_dir(), f"{name}: build context {context} missing"
            name_of_file = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            dockerfile = context / name_of_file
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        for volume in svc.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: mounted path {source} missing"
    _, copies = _dockerfile()
    for source, _dest in copies:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    copied = {PurePosixPath(s).parts[0] for s, _ in copies}
    assert {"requirements.txt", "dags", "plugins", "dbt_project", "sandbox"} <= copied


def test_dag_plugin_and_dbt_paths_match_the_image_and_the_repo():
    env, copies = _dockerfile()
    dest_of = {PurePosixPath(s).parts[0]: PurePosixPath(d) for s, d in copies}
    airflow_env = _environment(SERVICES["airflow-scheduler"])
    dags = PurePosixPath(airflow_env["AIRFLOW__CORE__DAGS_FOLDER"])
    plugins = PurePosixPath(airflow_env["AIRFLOW__CORE__PLUGINS_FOLDER"])
    assert dest_of["dags"] == dags and dest_of["plugins"] == plugins
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(dags)
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(plugins)
    # The DAG finds the dbt project next to its folder (dags/../dbt_project), as in the repo.
    dag_source = (ROOT / "dags" / "webinar_attendance.py").read_text()
    assert 'os.path.dirname(__file__), "..", "dbt_project"' in dag_source
    assert dest_of["dbt_project"] == dags.parent / "dbt_project"
    assert env["DBT_PROFILES_DIR"] == str(dags.parent / "dbt_project")
    assert str(plugins) in env["PYTHONPATH"].split(":")
    for name in AIRFLOW_SERVICES:
        mounts = {v.split(":")[0]: PurePosixPath(v.split(":")[1]) for v in SERVICES[name]["volumes"]}
        assert mounts.get("./dags") == dags and mounts.get("./plugins") == plugins
    assert (ROOT / "dags" / "webinar_attendance.py").is_file()
    assert (ROOT / "dbt_project" / "dbt_project.yml").is_file()


def test_every_variable_used_is_documented_in_env_example():
    used = set(VAR_RE.findall(COMPOSE_TEXT))
    missing = sorted(used - set(ENV_EXAMPLE))
    assert missing == [], f"add to .env.example: {missing}"


def test_env_example_holds_no_real_secret():
    for key, value in ENV_EXAMPLE.items():
        if re.search(r"PASSWORD|SECRET|_KEY$|FERNET", key):
            assert value in {"", "CHANGE_ME"}, f"{key} must be CHANGE_ME in .env.example"
        for secret_field in re.findall(r'"(?:password|login|account_id)": "([^"]*)"', value):
            assert secret_field == "CHANGE_ME", f"{key} carries a credential"


def test_every_connection_the_code_uses_reaches_airflow():
    for name in AIRFLOW_SERVICES:
        env = _environment(SERVICES[name])
        for conn_id in DEFAULT_CONN_IDS.values():
            assert f"AIRFLOW_CONN_{conn_id.upper()}" in env, f"{name}: AIRFLOW_CONN_{conn_id.upper()}"
        assert env["AIRFLOW_CONN_DWH_DEFAULT"].startswith("postgresql://dwh_owner:")
    assert "bi_reader" in _environment(SERVICES["dashboard"])["DWH_BI_DSN"]
    dashboard_env = _environment(SERVICES["dashboard"])
    assert "AIRFLOW_CONN_DWH_DEFAULT" not in dashboard_env, "the dashboard must read as bi_reader only"


def test_every_setting_the_code_reads_reaches_airflow():
    code = "\n".join(p.read_text() for p in (ROOT / "plugins").rglob("*.py"))
    code += (ROOT / "dags" / "webinar_attendance.py").read_text()
    read = set(re.findall(r"\"(DWH_[A-Z_]+)\"", code))
    # Built by dbt_runner from the dwh connection, overrides of conn ids, and per-source switches.
    internal = {"DWH_HOST", "DWH_PORT", "DWH_USER", "DWH_PASSWORD", "DWH_DATABASE", "DWH_CONN_ID"}
    # Read by the follow-up export command (make followups), run by people, not by Airflow.
    internal |= {"DWH_CRM_DSN"}
    # Set per run by the pipeline for dbt (the run's as_of and Airflow run id), not by a deployment.
    from webinar_dwh.dbt_runner import RUN_VALUES

    internal |= {f"DWH_RUN_{name.upper()}" for name in RUN_VALUES}
    env = _environment(SERVICES["airflow-scheduler"])
    missing = sorted(v for v in read - internal if not v.endswith("_") and v not in env)
    assert missing == [], f"settings read by the code but not passed by docker-compose.yaml: {missing}"


def test_published_ports_do_not_clash():
    resolved = yaml.safe_load(_substitute(COMPOSE_TEXT))
    published: dict[str, str] = {}  # host port -> service (stricter than per address: simpler to run)
    for name, svc in resolved["services"].items():
        for port in svc.get("ports") or []:
            parts = str(port).split(":")
            host_port = parts[-2] if len(parts) >= 2 else parts[0]
            assert host_port.isdigit(), f"{name}: unresolved port {port}"
            assert host_port not in published, f"{name}, {published.get(host_port)} both publish {host_port}"
            published[host_port] = name
            if len(parts) == 3:
                assert parts[0] == "127.0.0.1", f"{name}: published beyond localhost by default"
    assert set(published) >= {"5432", "8080", "8501"}


def test_every_service_has_a_healthcheck_and_waits_for_its_dependencies():
    for name, svc in SERVICES.items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in (*AIRFLOW_SERVICES, *CELERY_SERVICES, "dashboard"):
        deps = SERVICES[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"


def test_postgres_init_creates_both_databases():
    mounts = [v for v in SERVICES["postgres"]["volumes"] if v.startswith("./")]
    assert any("/docker-entrypoint-initdb.d/" in m for m in mounts)
    script = (ROOT / mounts[0].split(":")[0]).read_text()
    assert "create database airflow" in script and 'create database :"dwh_database"' in script
    airflow_db = _environment(SERVICES["airflow-scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert airflow_db.endswith("@postgres:5432/airflow")


def _bootstrap_module():
    import importlib.util

    path = ROOT / "docker" / "bootstrap_warehouse.py"
    spec = importlib.util.spec_from_file_location("bootstrap_warehouse", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # .local holds PostgreSQL's data directory (mode 0700): a build context with it fails
    assert {".venv", ".local", ".env", ".git", "dbt_project/target"} <= ignored
    assert "!.env.example" in ignored
    _, copies = _dockerfile()
    for source, _dest in copies:  # nothing the image copies is ignored
        assert PurePosixPath(source).parts[0].rstrip("/") not in ignored, source


def test_placeholders_and_missing_secrets_stop_airflow_init_before_anything_else(capsys):
    bootstrap = _bootstrap_module()
    deployment = {name: "s3cret-value" for name in bootstrap.REQUIRED}
    assert bootstrap.settings_problems(deployment) == []
    env = {
        **deployment,
        "DWH_BI_PASSWORD": "CHANGE_ME",
        "AIRFLOW_CONN_BIGMARKER_DEFAULT": '{"conn_type": "http", "password": "CHANGE_ME"}',
        "DWH_PII_KEY": "",
    }
    with pytest.raises(SystemExit) as stopped:
        bootstrap.check_settings(env)
    message = str(stopped.value)
    assert message.startswith("Refusing to set up the deployment: DWH_PII_KEY is not set; ")
    assert "AIRFLOW_CONN_BIGMARKER_DEFAULT still contains the placeholder CHANGE_ME" in message
    assert "DWH_BI_PASSWORD still contains the placeholder CHANGE_ME" in message
    assert "s3cret-value" not in message and "conn_type" not in message  # names, never values
    # the check is the first thing airflow-init does; the other services wait for airflow-init
    command = SERVICES["airflow-init"]["command"][-1].strip().splitlines()
    assert command[0] == "python /opt/webinar-dwh/docker/bootstrap_warehouse.py --check-settings"
    # with .env.example as it is, the check refuses (every CHANGE_ME is named)
    resolved = yaml.safe_load(_substitute(COMPOSE_TEXT))["services"]["airflow-init"]
    problems = bootstrap.settings_problems(_environment(resolved))
    assert "DWH_OWNER_PASSWORD still contains the placeholder CHANGE_ME" in problems


def test_secrets_compose_interpolates_must_be_set():
    for name in ("POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "DWH_OWNER_PASSWORD", "DWH_BI_PASSWORD",
                 "DWH_PII_KEY", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD"):
        assert re.search(r"\$\{" + name + r":\?[^}]+\}", COMPOSE_TEXT), f"{name}: use ${{{name}:?…}}"


def test_airflow_init_waits_for_the_end_of_postgres_first_start():
    deps = SERVICES["airflow-init"]["depends_on"]
    assert deps["postgres"]["condition"] == "service_healthy"
    check = " ".join(SERVICES["postgres"]["healthcheck"]["test"][1:])
    # over TCP (the first start's temporary server listens on the socket only) and on both
    # databases the init script creates
    assert "-h 127.0.0.1" in check and "-d airflow" in check and "DWH_DATABASE" in check


def test_celery_profile_is_opt_in_and_wired_like_the_local_celery_stack():
    """redis + workers (+ flower) only with their profiles, configured like scripts/celery_stack.py."""
    from scripts.celery_stack import QUEUE

    assert SERVICES["redis"]["profiles"] == ["celery", "flower"]
    assert SERVICES["airflow-worker"]["profiles"] == ["celery"]
    assert SERVICES["airflow-flower"]["profiles"] == ["flower"], "flower is optional"
    assert ENV_EXAMPLE["AIRFLOW_EXECUTOR"] == "LocalExecutor"
    assert int(ENV_EXAMPLE["AIRFLOW_CELERY_WORKERS"]) >= 2
    worker = SERVICES["airflow-worker"]
    assert worker["command"][:3] == ["airflow", "celery", "worker"]
    assert worker["command"][worker["command"].index("--queues") + 1] == QUEUE
    assert _substitute(str(worker["deploy"]["replicas"])) == ENV_EXAMPLE["AIRFLOW_CELERY_WORKERS"]
    assert SERVICES["airflow-flower"]["command"] == ["airflow", "celery", "flower"]
    for name in CELERY_SERVICES:
        assert SERVICES[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in (*AIRFLOW_SERVICES, *CELERY_SERVICES):
        env = {k: _substitute(v) for k, v in _environment(SERVICES[name]).items()}
        # one executor for every component: the scheduler queues what the workers consume
        assert env["AIRFLOW__CORE__EXECUTOR"] == ENV_EXAMPLE["AIRFLOW_EXECUTOR"]
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
        assert env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == QUEUE
        # results in the metadata DB the rest of Airflow uses
        meta = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].split("@", 1)[1]
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].split("@", 1)[1] == meta


def test_the_celery_provider_is_pinned_with_the_broker_client():
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert "apache-airflow-providers-celery" in (ROOT / "requirements.in").read_text()
    assert {"apache-airflow-providers-celery", "celery", "redis"} <= set(pins)


def test_local_executor_preloads_what_every_task_imports():
    # A module the fork server cannot import is skipped silently: check the names here.
    import importlib.util

    from webinar_dwh.orchestration import TASK_PRELOAD_MODULES

    env = _environment(SERVICES["airflow-scheduler"])
    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    assert env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"].split(",") == list(TASK_PRELOAD_MODULES)
    missing = [m for m in TASK_PRELOAD_MODULES if importlib.util.find_spec(m) is None]
    assert not missing, f"not importable: {missing}"
