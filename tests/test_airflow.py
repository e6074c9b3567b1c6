"""The DAGs of deploy/airflow in real Airflow 3, run in its own virtualenv (.ci/airflow-venv).

Airflow runs in subprocesses with its own Python (WIKITOP_TEST_AIRFLOW_PYTHON, default
.airflow-venv/bin/python) and AIRFLOW_HOME in a temporary directory (SQLite metadata DB). Form (a)
runs end to end with `airflow dags test` against a real `wikitop api` + `wikitop worker` and the
fake Wikimedia; form (b) renders its pod as the provider would send it to Kubernetes, no cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from support.api_process import run_wikitop_http
from support.dumpgen import write_hour
from support.requirements import missing
from support.server import FakeWikimedia, Fault
from support.service import REDIS_URL, SPEC, Service, expected_rows, redis_client, relpath
from wikitop.hours import current_hour, format_hour, parse_hour

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "deploy" / "airflow"
DOCKERFILE = ROOT / "Dockerfile"
K8S_BASE = ROOT / "deploy" / "k8s" / "base"
TOKEN = "airflow-test-token"
# The run for the interval 14:00-15:00 UTC computes hour ...15; the logical date of a manual run
# is that end (Airflow runs no task of a run before the DAG's start, 2026-01-01).
RUN_AFTER = "2026-01-01T15:00:00+00:00"
POD_HOUR = "2026010115"
AIRFLOW_TIMEOUT_S = 240
# A cluster nobody listens for: building a pod needs a kubeconfig, not a cluster.
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
    "users": [{"name": "none", "user": {"token": "unused"}}],
    "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
    "current-context": "none",
}

# The pod form, rendered as `airflow tasks render` renders a task, then built into the pod the
# provider would create: printed as the JSON that Kubernetes would receive.
RENDER_POD = """
import json, sys
from airflow.cli.commands import task_command as tc
from airflow.dag_processing.dagbag import DagBag
from kubernetes.client import ApiClient

sdk_dag = DagBag(dag_folder=sys.argv[1]).get_dag("wikitop_hourly_pod")
scheduler_dag = tc.DagSerialization.from_dict(tc.DagSerialization.to_dict(sdk_dag))
ti, _ = tc._get_ti(
    scheduler_dag.get_task("wikitop_run"), -1, logical_date_or_run_id=sys.argv[2], create_if_necessary="memory"
)
task = sdk_dag.get_task("wikitop_run")
context = tc._get_template_context(ti, task)
task.render_template_fields(context)
pod = context["task"].build_pod_request_obj(context)
print("POD=" + json.dumps(ApiClient().sanitize_for_serialization(pod)))
"""

# What the scheduler would read from the DAG folder: every DAG's settings, and the hour label of
# the scheduled run for 14:00-15:00 from each DAG's own timetable.
DESCRIBE_DAGS = """
import json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.timetables.base import TimeRestriction

bag = DagBag(dag_folder=sys.argv[1])
out = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
catchup_from_14h = TimeRestriction(earliest=pendulum.datetime(2020, 1, 1, 14), latest=None, catchup=True)
for dag_id in bag.dag_ids:
    dag = bag.get_dag(dag_id)
    info = dag.timetable.next_dagrun_info(last_automated_data_interval=None, restriction=catchup_from_14h)
    out["dags"][dag_id] = {
        "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks, "tasks": [t.task_id for t in dag.tasks],
        "first_interval": [info.data_interval.start.isoformat(), info.data_interval.end.isoformat()],
        "sensor_mode": {t.task_id: getattr(t, "mode", None) for t in dag.tasks},
    }
print("DAGS=" + json.dumps(out))
"""


def airflow_python() -> Path:
    """Airflow's own interpreter; skip (fail in CI) when its virtualenv is not installed."""
    python = Path(os.environ.get("WIKITOP_TEST_AIRFLOW_PYTHON", ROOT / ".airflow-venv" / "bin" / "python"))
    if not os.access(python, os.X_OK):
        missing(f"no Airflow virtualenv at {python}: run .ci/airflow-venv", "WIKITOP_TEST_REQUIRE_AIRFLOW")
    return python


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of an Airflow with its metadata DB migrated in a temporary AIRFLOW_HOME."""
    python = airflow_python()
    home = tmp_path_factory.mktemp("airflow-home")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WIKITOP_", "AIRFLOW"))}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PATH": f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHON": str(python),
    }
    # The provider reads a kubeconfig to label the pod (in cluster or not); it never connects here.
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(json.dumps(KUBECONFIG))
    env["KUBECONFIG"] = str(kubeconfig)
    airflow(env, "db", "migrate")
    # What the DAG processor does: the DAGs' serialized form in the metadata DB, which runs need.
    airflow(env, "dags", "reserialize")
    return env


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `airflow` command of the Airflow virtualenv; fail with its output if it fails."""
    return run_checked(env, [str(Path(env["PYTHON"]).parent / "airflow"), *args])


def airflow_script(env: dict[str, str], script: str, *args: str) -> str:
    """Run a Python script with Airflow's interpreter and return its output."""
    return run_checked(env, [env["PYTHON"], "-c", script, *args]).stdout


def run_checked(env: dict[str, str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` with `env`; fail with its output when it exits non-zero."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=AIRFLOW_TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail(f"{argv[:3]} exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def printed(output: str, key: str) -> object:
    """The JSON a script printed after `KEY=`."""
    (line,) = [line for line in output.splitlines() if line.startswith(f"{key}=")]
    return json.loads(line.removeprefix(f"{key}="))


# --- the DAG folder as Airflow's scheduler reads it -----------------------------------------------


def test_both_dags_load_hourly_with_catchup_within_wikimedias_connections(
    airflow_env: dict[str, str],
) -> None:
    described = printed(airflow_script(airflow_env, DESCRIBE_DAGS, str(DAGS)), "DAGS")
    assert isinstance(described, dict)
    assert described["import_errors"] == {}
    dags = described["dags"]
    assert set(dags) == {"wikitop_hourly_api", "wikitop_hourly_pod"}
    for dag in dags.values():
        assert dag["catchup"] is True
        # Wikimedia answers 503 beyond 3 connections per client.
        assert 1 <= dag["max_active_runs"] <= 3 and 1 <= dag["max_active_tasks"] <= 3
        # A scheduled run covers one whole hour, whose end is the hour it computes.
        assert dag["first_interval"] == ["2020-01-01T14:00:00+00:00", "2020-01-01T15:00:00+00:00"]
    assert dags["wikitop_hourly_api"]["tasks"] == ["ask_for_hour", "wait_for_hour"]
    # A waiting sensor frees its worker slot between pokes.
    assert dags["wikitop_hourly_api"]["sensor_mode"]["wait_for_hour"] == "reschedule"
    assert dags["wikitop_hourly_pod"]["tasks"] == ["wikitop_run"]


# --- form (b): the pod ----------------------------------------------------------------------------


def k8s_objects() -> dict[tuple[str, str], dict[str, object]]:
    """The objects of deploy/k8s/base by (kind, name)."""
    return {
        (doc["kind"], doc["metadata"]["name"]): doc
        for path in sorted(K8S_BASE.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }


def test_pod_form_renders_wikitop_run_of_the_runs_hour_in_the_image_with_config_and_resources(
    airflow_env: dict[str, str],
) -> None:
    pod = printed(airflow_script(airflow_env, RENDER_POD, str(DAGS), RUN_AFTER), "POD")
    assert isinstance(pod, dict)
    (container,) = pod["spec"]["containers"]
    objects = k8s_objects()
    worker = objects[("Deployment", "wikitop-worker")]
    (worker_container, *_) = worker["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    assert pod["metadata"]["namespace"] == objects[("Namespace", "wikitop")]["metadata"]["name"]  # type: ignore[index]
    assert container["image"] == worker_container["image"]
    # The image's entry point is `wikitop` (an empty command keeps it): the arguments are the CLI's.
    assert not container.get("command")
    assert re.search(r'^ENTRYPOINT \[[^]]*"wikitop"\]', DOCKERFILE.read_text(), re.MULTILINE)
    assert container["args"] == ["run", "--jobs", "1", POD_HOUR]
    assert ("ConfigMap", "wikitop-config") in objects and ("Secret", "wikitop-secrets") in objects
    assert container["envFrom"] == [
        {"configMapRef": {"name": "wikitop-config"}},
        {"secretRef": {"name": "wikitop-secrets"}},
    ]
    assert set(container["resources"]) == {"requests", "limits"}
    assert (
        set(container["resources"]["requests"]) == set(container["resources"]["limits"]) == {"cpu", "memory"}
    )
    # The restricted security of the other wikitop pods; a read-only root needs both scratch mounts.
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/data", "/tmp"}
    assert pod["spec"]["restartPolicy"] == "Never"


# --- form (a): the API and the sensor, end to end -------------------------------------------------


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[FakeWikimedia]:
    """The fake Wikimedia, publishing the generated dump of HOUR."""
    with FakeWikimedia(tmp_path / "mirror") as server:
        yield server


@pytest.fixture
def service(tmp_path: Path, mirror: FakeWikimedia) -> Iterator[tuple[str, Service]]:
    """A real `wikitop api` (token required) and `wikitop worker` on Redis; yields the API's URL."""
    redis_client()  # flushed; skips (fails in CI) without Redis
    env = {"WIKITOP_BROKER_URL": REDIS_URL, "WIKITOP_API_TOKEN": TOKEN}
    with run_wikitop_http(tmp_path, "api", mirror_url=mirror.url, env=env) as api:
        running = Service(tmp_path, mirror, REDIS_URL)  # after the API: its blacklist is the worker's
        try:
            running.worker()
            yield api.base_url, running
        finally:
            running.close()


def hours_ago(count: int) -> str:
    """The hour `count` hours before the current one (wikitop refuses future hours; a hour older
    than a day that is not published fails at once, a newer one is `unavailable` and re-checked)."""
    return format_hour(current_hour() - timedelta(hours=count))


def start_dags_test(
    airflow_env: dict[str, str], api_url: str, hour: str, log: Path
) -> subprocess.Popen[bytes]:
    """Start `airflow dags test wikitop_hourly_api` for the run computing `hour`, poking every 0.2 s."""
    env = airflow_env | {
        "AIRFLOW_VAR_WIKITOP_API_URL": api_url,
        "AIRFLOW_VAR_WIKITOP_API_TOKEN": TOKEN,
        "WIKITOP_DAG_POKE_INTERVAL_S": "0.2",
    }
    run_after = parse_hour(hour).isoformat()
    argv = [str(Path(env["PYTHON"]).parent / "airflow"), "dags", "test", "wikitop_hourly_api", run_after]
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for_output(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Wait until the process has written `text` to its log, or has ended without it."""
    deadline = time.monotonic() + AIRFLOW_TIMEOUT_S
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no {text!r} in the output of airflow dags test\n{log.read_text()[-6000:]}")
        time.sleep(0.1)


def hour_state(api_url: str, hour: str) -> dict[str, object]:
    """The hour's state as the API answers it."""
    response = httpx.get(f"{api_url}/api/v1/reports/{hour}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_api_form_asks_for_the_hour_waits_for_it_and_the_csv_is_exact(
    airflow_env: dict[str, str], mirror: FakeWikimedia, service: tuple[str, Service], tmp_path: Path
) -> None:
    api_url, running = service
    hour = hours_ago(2)
    log = tmp_path / "dags-test.log"
    # Not published when the run starts: the sensor reschedules itself while the hour is unavailable.
    mirror.set_fault(relpath(hour), Fault.not_found())
    dump = write_hour(mirror.root_dir, parse_hour(hour), replace(SPEC, lines=5_000))
    airflow_run = start_dags_test(airflow_env, api_url, hour, log)
    try:
        wait_for_output(airflow_run, log, f"wikitop hour {hour} is unavailable")
        mirror.clear_faults()  # published: the service's next re-check computes it
        assert airflow_run.wait(AIRFLOW_TIMEOUT_S) == 0, f"{log.read_text()[-6000:]}\n{running.logs()}"
    finally:
        if airflow_run.poll() is None:
            airflow_run.kill()
            airflow_run.wait()
    output = log.read_text()
    assert "UP_FOR_RESCHEDULE" in output and f"wikitop hour {hour} is success" in output
    assert hour_state(api_url, hour)["status"] == "success"
    assert running.result_rows(hour) == expected_rows(dump)


def test_api_form_fails_the_run_when_the_hour_fails(
    airflow_env: dict[str, str], service: tuple[str, Service], tmp_path: Path
) -> None:
    api_url, _ = service
    log = tmp_path / "dags-test.log"
    # Two days old and not published: the service gives up on it and marks it failed.
    hour = hours_ago(48)
    assert start_dags_test(airflow_env, api_url, hour, log).wait(AIRFLOW_TIMEOUT_S) != 0, log.read_text()[
        -4000:
    ]
    assert hour_state(api_url, hour)["status"] == "failed"
    assert f"wikitop failed hour {hour}" in log.read_text()
