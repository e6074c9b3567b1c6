"""Airflow DAG: `wikitop run HOUR` for every hour, as a Kubernetes pod (or a shell command).

Copy this file into your DAGs folder. One DAG run per hour; the run for the interval 14:00-15:00
UTC computes hour `...15`, since Wikimedia labels each file with the end of the hour it counts
(README, "Hours"). The file appears 50 minutes to a few hours later, and `wikitop run` exits 1
until it does: the task's retries, with backoff, are the wait. A backfill is
`airflow dags backfill -s 2020-01-01 -e 2020-01-02 wikitop_hourly`; hours already done are skipped.

Use this DAG instead of the CronJob in deploy/k8s, not beside it: both would download from
Wikimedia, which answers 503 beyond 3 connections per client.

Needs Airflow 2.7+ or 3.x; RUN_IN = "kubernetes" needs apache-airflow-providers-cncf-kubernetes,
RUN_IN = "bash" needs wikitop installed where the Airflow workers run (`pip install "wikitop[postgres,s3]"`)
and the WIKITOP_* settings in their environment.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

# "kubernetes": a pod of the wikitop image with the ConfigMap and Secret of deploy/k8s/base.
# "bash": the `wikitop` command on the Airflow worker itself.
RUN_IN = "kubernetes"
IMAGE = "registry.example.com/wikitop:0.1.0"
NAMESPACE = "wikitop"
# The hour label of a DAG run: the end of its data interval (see the docstring).
HOUR = "{{ data_interval_end.strftime('%Y%m%d%H') }}"
# One task downloading at a time: Wikimedia serves at most 3 connections per client, and the k8s
# workers use the other 2 (deploy/k8s/base/config.yaml). Runs waiting for a retry hold no slot.
MAX_ACTIVE_TASKS = 1
# Runs waiting to retry an unpublished hour must not hold back the next hours' runs.
MAX_ACTIVE_RUNS = 24

default_args = {
    "owner": "wikitop",
    # Wait for Wikimedia to publish: 10, 20, 40, 80 min, then every 2 h, about 14 h in all.
    "retries": 10,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(hours=2),
    "execution_timeout": timedelta(hours=1),
}


def _kubernetes_task() -> object:
    """The task as a pod: same image, settings and security as the CronJob in deploy/k8s."""
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
    )


def _bash_task() -> object:
    """The task as a shell command on the Airflow worker."""
    try:  # Airflow 3 (the standard provider)
        from airflow.providers.standard.operators.bash import BashOperator
    except ImportError:  # Airflow 2
        from airflow.operators.bash import BashOperator

    return BashOperator(task_id="wikitop_run", bash_command=f"wikitop run --jobs 1 {HOUR}")


with DAG(
    dag_id="wikitop_hourly",
    description="Top 25 pages of every Wikipedia domain code, one hour per run",
    schedule="@hourly",
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),  # noqa: UP017 (Airflow may run Python < 3.11)
    # Runs start from the present; older hours are a backfill away (see the docstring).
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    max_active_tasks=MAX_ACTIVE_TASKS,
    default_args=default_args,
    tags=["wikitop"],
):
    _kubernetes_task() if RUN_IN == "kubernetes" else _bash_task()
