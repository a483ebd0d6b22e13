"""Links in e-mails are built on SITE_URL, whatever URL they started from."""

from pytest_django.fixtures import Settings

from apps.core.links import configured_site, site_url


def test_a_link_keeps_its_path_and_query_and_takes_the_configured_site(
    settings: Settings,
) -> None:
    settings.SITE_URL = "https://app.example.com/"

    assert site_url("/accounts/x/?next=/a") == "https://app.example.com/accounts/x/?next=/a"
    assert site_url("http://testserver:8443/reset/k/#top") == "https://app.example.com/reset/k/#top"


def test_e_mails_name_the_configured_site(settings: Settings) -> None:
    settings.SITE_URL = "https://app.example.com"

    assert configured_site().domain == "app.example.com"
    assert configured_site().name == settings.PROJECT_NAME
