"""Airflow DAGs: wikitop's top pages for every hour, in the prototype's two forms.

- `wikitop_hourly_api` asks a running wikitop service (`wikitop api` + `wikitop worker`, or
  `wikitop serve`) for the run's hour, then a sensor waits until the hour's state is `success`.
  Airflow Variables: `wikitop_api_url` (e.g. http://wikitop-api.wikitop.svc) and, when the API
  requires WIKITOP_API_TOKEN, `wikitop_api_token`. Needs nothing beyond Airflow itself.
- `wikitop_hourly_pod` runs `wikitop run HOUR` in a Kubernetes pod of the wikitop image, with the
  ConfigMap and Secret of deploy/k8s/base. Needs apache-airflow-providers-cncf-kubernetes.

Copy this file into your DAGs folder and pause the DAG you do not use: both download from
Wikimedia, which answers 503 beyond 3 connections per client. Use either instead of the CronJob in
deploy/k8s, and instead of `--follow` in the workers, not beside them.

One DAG run per hour; the run for the interval 14:00-15:00 UTC computes hour `...15`, since
Wikimedia labels each file with the end of the hour it counts (README, "Hours"). The file appears
50 minutes to a few hours later: form (a)'s sensor waits while the service re-checks it, form (b)'s
`wikitop run` exits 1 until it is there and the task's retries, with backoff, are the wait.
`catchup` is on: unpaused, a DAG runs every hour since START_DATE, oldest first, at most
MAX_ACTIVE_RUNS at once; an hour already computed costs one request (the service and the CLI skip it).

Tested with Airflow 3 (tests/test_airflow.py).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, Variable, task
from airflow.sdk.exceptions import AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

IMAGE = "registry.example.com/wikitop:0.1.0"
NAMESPACE = "wikitop"
# The hour label of a DAG run: the end of its data interval (see the docstring).
HOUR = "{{ data_interval_end.strftime('%Y%m%d%H') }}"
HOUR_FORMAT = "%Y%m%d%H"
# Runs cover whole hours, labelled by their interval (not a bare trigger time): HOUR is their end.
SCHEDULE = CronDataIntervalTimetable("0 * * * *", timezone="UTC")
# The first hour computed once the DAG is unpaused (catchup): set it to the first hour you need.
START_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 (Airflow may run Python < 3.11)
# Form (a): the service downloads within its own cap (WIKITOP_DOWNLOAD_CONCURRENCY), so these only
# bound how many hours wait at once. Form (b): each pod downloads once; the k8s workers use the
# other 2 of Wikimedia's 3 connections (deploy/k8s/base/config.yaml), so one pod at a time.
MAX_ACTIVE_RUNS = {"api": 3, "pod": 1}
MAX_ACTIVE_TASKS = {"api": 3, "pod": 1}
# How often the sensor asks for the hour's state; a short interval is for tests.
POKE_INTERVAL_S = float(os.environ.get("WIKITOP_DAG_POKE_INTERVAL_S", "300"))
# Wikimedia publishes an hour within a few hours; a day without it is worth a failed run.
WAIT_FOR_HOUR = timedelta(hours=24)
REQUEST_TIMEOUT_S = 30

log = logging.getLogger(__name__)


def _api(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the wikitop API and return its JSON answer; an HTTP error fails with the API's message."""
    url = Variable.get("wikitop_api_url").rstrip("/") + path
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    token = Variable.get("wikitop_api_token", default=None)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {url}: HTTP {error.code}: {error.read()[:500]!r}") from None


def _run_hour(data_interval_end: datetime) -> str:
    """The hour a run computes: Wikimedia's label of the file counting its interval."""
    return data_interval_end.astimezone(timezone.utc).strftime(HOUR_FORMAT)  # noqa: UP017


@task(retries=3, retry_delay=timedelta(minutes=1))
def ask_for_hour(data_interval_end: datetime | None = None) -> str:
    """Ask the service for the run's hour (queued unless it is queued, running or done already)."""
    assert data_interval_end is not None  # filled in by Airflow from the run's context
    hour = _run_hour(data_interval_end)
    _api("POST", "/api/v1/reports", {"start": hour})
    return hour


# Retries cover an API that does not answer for a while (a deploy, a restart); `failed` skips them.
@task.sensor(
    poke_interval=POKE_INTERVAL_S,
    timeout=WAIT_FOR_HOUR.total_seconds(),
    mode="reschedule",
    retries=3,
    retry_delay=timedelta(minutes=5),
)
def wait_for_hour(hour: str) -> bool:
    """Done when the hour's state is `success`; `failed` fails the run; anything else waits."""
    state = _api("GET", f"/api/v1/reports/{hour}")
    log.info("wikitop hour %s is %s", hour, state["status"])
    if state["status"] == "failed":
        raise AirflowFailException(f"wikitop failed hour {hour}: {state.get('error')}")
    # queued, running, or unavailable (not published yet: the service re-checks it on its own).
    return bool(state["status"] == "success")


def _pod_task() -> Any:
    """`wikitop run HOUR` as a pod: same image, settings and security as the CronJob in deploy/k8s."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    scratch = [("data", "/data", "1Gi"), ("tmp", "/tmp", "256Mi")]  # readOnlyRootFilesystem needs both
    return KubernetesPodOperator(
        task_id="wikitop_run",
        name="wikitop-run",
        namespace=NAMESPACE,
        image=IMAGE,
        arguments=["run", "--jobs", "1", HOUR],
        env_from=[
            k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="wikitop-config")),
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="wikitop-secrets")),
        ],
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "500m", "memory": "768Mi"}, limits={"cpu": "1", "memory": "1Gi"}
        ),
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=10001,
            run_as_group=10001,
            fs_group=10001,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        volumes=[
            k8s.V1Volume(name=name, empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=size))
            for name, _, size in scratch
        ],
        volume_mounts=[k8s.V1VolumeMount(name=name, mount_path=path) for name, path, _ in scratch],
        get_logs=True,
        on_finish_action="delete_pod",
        # Wait for Wikimedia to publish: 10, 20, 40, 80 min, then every 2 h, about 14 h in all.
        retries=10,
        retry_delay=timedelta(minutes=10),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(hours=2),
        execution_timeout=timedelta(hours=1),
    )


def _hourly_dag(form: str, description: str) -> DAG:
    """An hourly DAG of one form, with catchup on."""
    return DAG(
        dag_id=f"wikitop_hourly_{form}",
        description=description,
        schedule=SCHEDULE,
        start_date=START_DATE,
        catchup=True,
        max_active_runs=MAX_ACTIVE_RUNS[form],
        max_active_tasks=MAX_ACTIVE_TASKS[form],
        default_args={"owner": "wikitop"},
        tags=["wikitop"],
    )


with _hourly_dag("api", "Top 25 pages per domain code of the run's hour, computed by the wikitop service"):
    wait_for_hour(ask_for_hour())

with _hourly_dag("pod", "Top 25 pages per domain code of the run's hour, computed in a Kubernetes pod"):
    _pod_task()
