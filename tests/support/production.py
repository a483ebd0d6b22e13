"""A generated project released the way its README says: migrate, collectstatic."""

from __future__ import annotations

import secrets

from tests.support import services
from tests.support.project import Project, explain

# Rate limits high enough that a load test pays for throttling but never hits it:
# each request still increments its client's counter (apps/core/throttling.py).
UNTHROTTLED = {
    "API_THROTTLE_ANON": "1000000/minute",
    "API_THROTTLE_USER": "1000000/minute",
    "API_THROTTLE_AUTH": "1000000/minute",
}


def production_env(project: Project) -> dict[str, str]:
    """The environment a production deploy provides, pointing at private databases."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "app.example.com,127.0.0.1,localhost",
        "EMAIL_URL": "smtp://127.0.0.1:25",
    }
    if project.answers["auth"] == "jwt":
        env["JWT_SIGNING_KEY"] = secrets.token_urlsafe(64)
    if project.answers["database"] == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{project.path / 'production.sqlite3'}"
    else:
        env["DATABASE_URL"] = services.service_env(project.combination)["DATABASE_URL"] + "_prod"
    return env


def release(project: Project) -> dict[str, str]:
    """Run the release steps once per project; return the production environment."""
    if project.release_env is None:
        env = production_env(project)
        if project.answers["database"] != "sqlite":
            services.recreate_database(
                project.answers["database"], env["DATABASE_URL"].rpartition("/")[2]
            )
        run_release_steps(project, env)
        project.release_env = env
    return dict(project.release_env)


def run_release_steps(project: Project, env: dict[str, str]) -> None:
    """The generated README's release steps: migrate, then collectstatic."""
    for step in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        result = project.manage(*step, env=env)
        assert result.returncode == 0, explain(result)


def fresh_database_url(project: Project, purpose: str) -> str:
    """A new, empty database of the project's engine, for one test of its own."""
    if project.answers["database"] == "sqlite":
        path = project.path / f"{purpose}.sqlite3"
        for leftover in project.path.glob(f"{purpose}.sqlite3*"):
            leftover.unlink()
        return f"sqlite:///{path}"
    name = f"{project.combination.slug}_{purpose}"
    services.recreate_database(project.answers["database"], name)
    return services.service_env(project.combination)["DATABASE_URL"].rpartition("/")[0] + f"/{name}"
