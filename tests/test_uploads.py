"""User uploads on object storage: an avatar goes to a private bucket and comes back signed.

Each project is served by gunicorn under production settings, with
MEDIA_REQUIRES_OBJECT_STORAGE set as the kubernetes, fly, render and heroku
deploy files set it, and its media storage pointed at a real S3 API server on
loopback (moto's server mode; tests/support/object_storage.py says what it
stands in for). A signed-in client uploads an avatar through the API and
fetches it back through the URL the API returns.
"""

from __future__ import annotations

import io
import json
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from PIL import Image

from extensions.context import UNSHARED_DISK_TARGETS
from tests.support.building import build
from tests.support.combinations import Combination
from tests.support.object_storage import PrivateS3
from tests.support.production import release
from tests.support.selection import closest_to_defaults, selected_combinations
from tests.support.server import gunicorn
from tests.support.signin import Served, create_verified_user, signed_in_headers
from tests.test_deploy_kubernetes import env_file
from tests.test_render import files_param, rendered_once

pytestmark = pytest.mark.slow

AVATAR = "/api/users/me/avatar/"


def served_combinations(config: pytest.Config) -> list[Combination]:
    """A project per queue (and broker), the jwt one and the SQLite one: all built already."""
    picks = [
        *closest_to_defaults(config, "task_queue", "celery_broker"),
        *closest_to_defaults(config, "auth"),
        *closest_to_defaults(config, "database"),
    ]
    return list({c.id: c for c in picks}.values())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "served" in metafunc.fixturenames:
        metafunc.parametrize(
            "served",
            [
                pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                for c in served_combinations(metafunc.config)
            ],
            indirect=True,
            scope="module",
        )
    if "deployed" in metafunc.fixturenames:
        combinations = selected_combinations(metafunc.config)
        metafunc.parametrize(
            "deployed",
            [files_param(c) for c in combinations if c.answers["deploy_target"] != "none"],
        )


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, copie_session: Any, s3: PrivateS3) -> Iterator[Served]:
    project = build(request.param, copie_session)
    media = s3.media_env(s3.new_bucket())
    env = {**release(project), **media, "MEDIA_REQUIRES_OBJECT_STORAGE": "true"}
    with gunicorn(project, env) as url:
        yield Served(project, url, env)


@pytest.fixture
def bucket(served: Served) -> str:
    return served.env["MEDIA_STORAGE_URL"].removeprefix("s3://")


def new_keys(s3: PrivateS3, bucket: str, before: set[str]) -> list[str]:
    return sorted(set(s3.keys(bucket)) - before)


def signed_in_write_headers(served: Served) -> dict[str, str]:
    """A signed-in write, with the CSRF token session auth asks for."""
    email = f"avatar-{uuid.uuid4().hex[:8]}@example.com"
    create_verified_user(served, email)
    headers = signed_in_headers(served, email)
    cookies = dict(part.split("=", 1) for part in headers.get("Cookie", "").split("; ") if part)
    if "__Secure-csrftoken" in cookies:
        headers["X-CSRFToken"] = cookies["__Secure-csrftoken"]
    return headers


def photo_with_location() -> bytes:
    """A JPEG photo carrying EXIF that names a camera and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPSInfo: latitude
    output = io.BytesIO()
    Image.new("RGB", (1024, 768), "orange").save(output, format="JPEG", exif=exif)
    return output.getvalue()


def put_avatar(served: Served, headers: dict[str, str], content: bytes) -> requests.Response:
    return requests.put(
        served.url + AVATAR,
        files={"avatar": ("holiday.jpg", content, "image/jpeg")},
        headers=headers,
        timeout=30,
    )


def test_an_avatar_is_stored_privately_and_read_back_through_a_signed_url(
    served: Served, s3: PrivateS3, bucket: str
) -> None:
    headers = signed_in_write_headers(served)
    before = set(s3.keys(bucket))

    uploaded = put_avatar(served, headers, photo_with_location())

    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["avatar_url"]
    [key] = new_keys(s3, bucket, before)
    assert key.startswith("avatars/") and key.endswith(".webp")
    assert url.startswith(f"{s3.endpoint_url}/{bucket}/{key}?")
    assert "X-Amz-Signature" in parse_qs(urlsplit(url).query)
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    image = Image.open(io.BytesIO(fetched.content))
    assert (image.format, image.size) == ("WEBP", (512, 384))
    assert not image.getexif()
    # Private: the object's own URL without a signature is refused, and no
    # grant reaches beyond the bucket's owner.
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403
    grants = s3.client().get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert [grant["Grantee"]["Type"] for grant in grants] == ["CanonicalUser"]
    me = requests.get(f"{served.url}/api/users/me/", headers=headers, timeout=10).json()
    assert requests.get(me["avatar_url"], timeout=10).content == fetched.content


def test_replacing_or_removing_an_avatar_deletes_the_old_object(
    served: Served, s3: PrivateS3, bucket: str
) -> None:
    headers = signed_in_write_headers(served)
    before = set(s3.keys(bucket))
    assert put_avatar(served, headers, photo_with_location()).status_code == 200
    [first] = new_keys(s3, bucket, before)

    assert put_avatar(served, headers, photo_with_location()).status_code == 200
    [second] = new_keys(s3, bucket, before)
    removed = requests.delete(served.url + AVATAR, headers=headers, timeout=10)

    assert second != first
    assert removed.status_code == 200
    assert removed.json()["avatar_url"] is None
    assert new_keys(s3, bucket, before) == []


def test_an_upload_that_is_not_an_image_stores_nothing(
    served: Served, s3: PrivateS3, bucket: str
) -> None:
    headers = signed_in_write_headers(served)
    before = set(s3.keys(bucket))

    answer = put_avatar(served, headers, b"<svg onload=alert(1)></svg>")

    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]["details"]["avatar"] == ["Upload a JPEG, PNG or WebP image."]
    assert new_keys(s3, bucket, before) == []


K8S = "deploy/k8s"


def object_storage_in_deploy_files(project: Path, target: str) -> tuple[str | None, bool]:
    """What *target*'s files set MEDIA_REQUIRES_OBJECT_STORAGE to, and whether they ask for
    MEDIA_STORAGE_URL (a prompt, a required variable, a line of the secrets to fill in)."""
    readme = (project / "README.md").read_text()
    if target == "fly":
        env = tomllib.loads((project / "fly.toml").read_text())["env"]
        return env.get(
            "MEDIA_REQUIRES_OBJECT_STORAGE"
        ), "fly secrets set MEDIA_STORAGE_URL=" in readme
    if target == "render":
        blueprint = yaml.safe_load((project / "render.yaml").read_text())
        [group] = blueprint["envVarGroups"]
        flag = {v["key"]: v.get("value") for v in group["envVars"]}.get(
            "MEDIA_REQUIRES_OBJECT_STORAGE"
        )
        web = next(s for s in blueprint["services"] if s["type"] == "web")
        prompted = {v["key"] for v in web["envVars"] if v.get("sync") is False}
        return flag, "MEDIA_STORAGE_URL" in prompted
    if target == "heroku":
        env = json.loads((project / "app.json").read_text())["env"]
        flag = env.get("MEDIA_REQUIRES_OBJECT_STORAGE", {}).get("value")
        return flag, env.get("MEDIA_STORAGE_URL", {}).get("required") is True
    if target == "kubernetes":
        settings = env_file(project / K8S / "base" / "settings.env")
        secrets = env_file(project / K8S / "overlays" / "production" / "secrets.env.example")
        return settings.get("MEDIA_REQUIRES_OBJECT_STORAGE"), "MEDIA_STORAGE_URL" in secrets
    deployed = "\n".join(p.read_text() for p in (project / "deploy").rglob("*") if p.is_file())
    flag = "true" if "MEDIA_REQUIRES_OBJECT_STORAGE" in deployed else None
    return flag, "MEDIA_STORAGE_URL" in deployed


def test_targets_whose_instances_share_no_disk_require_object_storage_and_say_how(
    deployed: Combination, copie_session: Any
) -> None:
    project = rendered_once(copie_session, deployed)
    target = deployed.answers["deploy_target"]
    readme = (project / "README.md").read_text()

    flag, asks_for_bucket = object_storage_in_deploy_files(project, target)

    unshared = target in UNSHARED_DISK_TARGETS
    assert (flag, asks_for_bucket) == (("true", True) if unshared else (None, False))
    assert ("Production refuses to start without `MEDIA_STORAGE_URL`" in readme) == unshared
    assert "### User uploads" in readme
