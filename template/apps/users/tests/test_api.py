import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = reverse("users-api:me")
USERS = reverse("users-api:list")


def test_me_requires_authentication_with_the_standard_error_body(api_client: APIClient) -> None:
    response = api_client.get(ME)

    assert response.status_code in (401, 403)
    body = response.json()
    assert body["error"]["code"] == "not_authenticated"
    assert body["request_id"] == response["X-Request-ID"]


def test_me_returns_the_signed_in_user(signed_in_client: APIClient, user: User) -> None:
    response = signed_in_client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": str(user.pk),
        "email": user.email,
        "full_name": user.full_name,
        "created_at": response.json()["created_at"],
        "avatar_url": None,
    }


def test_me_patch_updates_the_profile(signed_in_client: APIClient, user: User) -> None:
    response = signed_in_client.patch(ME, {"full_name": "Ada Lovelace"}, format="json")

    assert response.status_code == 200
    assert response.json()["full_name"] == "Ada Lovelace"
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"


def test_me_patch_validates_input(signed_in_client: APIClient) -> None:
    response = signed_in_client.patch(ME, {"full_name": "x" * 151}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert "full_name" in body["error"]["details"]


def test_a_user_can_read_their_own_profile_but_not_another(
    signed_in_client: APIClient, user: User
) -> None:
    other = UserFactory.create()

    own = signed_in_client.get(reverse("users-api:detail", args=[user.pk]))
    foreign = signed_in_client.get(reverse("users-api:detail", args=[other.pk]))

    assert own.status_code == 200
    assert own.json()["email"] == user.email
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "permission_denied"


def test_staff_can_read_any_profile(api_client: APIClient) -> None:
    other = UserFactory.create()
    api_client.force_authenticate(UserFactory.create(is_staff=True))

    response = api_client.get(reverse("users-api:detail", args=[other.pk]))

    assert response.status_code == 200


def test_an_unknown_user_is_a_404(api_client: APIClient) -> None:
    api_client.force_authenticate(UserFactory.create(is_staff=True))

    response = api_client.get(reverse("users-api:detail", args=[UserFactory.build().pk]))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_user_list_is_for_staff_only(signed_in_client: APIClient) -> None:
    response = signed_in_client.get(USERS)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_user_list_pages_with_a_cursor_newest_first(api_client: APIClient) -> None:
    staff = UserFactory.create(is_staff=True)
    UserFactory.create_batch(3)
    api_client.force_authenticate(staff)

    first = api_client.get(USERS, {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()

    emails = [u["email"] for u in first["results"] + second["results"]]
    expected = list(User.objects.order_by("-created_at", "-pk").values_list("email", flat=True))
    assert emails == expected
    assert second["next"] is None


def test_openapi_schema_documents_the_user_endpoints(api_client: APIClient) -> None:
    response = api_client.get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/users/", "/api/users/me/", "/api/users/{id}/"} <= set(paths)


def test_an_unknown_query_parameter_is_a_400_naming_it(signed_in_client: APIClient) -> None:
    response = signed_in_client.get(ME, {"fields": "email"})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"fields": ["Unknown query parameter."]}


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "201"])
def test_a_bad_page_size_is_a_400(api_client: APIClient, page_size: str) -> None:
    api_client.force_authenticate(UserFactory.create(is_staff=True))

    response = api_client.get(USERS, {"page_size": page_size})

    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["details"]


def test_a_bad_cursor_is_a_400(api_client: APIClient) -> None:
    api_client.force_authenticate(UserFactory.create(is_staff=True))

    response = api_client.get(USERS, {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"cursor": ["Invalid cursor"]}


def test_a_number_is_not_accepted_as_a_name(signed_in_client: APIClient) -> None:
    response = signed_in_client.patch(ME, {"full_name": 12345}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"full_name": ["Must be a string."]}


def test_every_operation_documents_the_standard_error_body(api_client: APIClient) -> None:
    schema = api_client.get(reverse("api-schema"), {"format": "json"}).json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "401", "403", "429"} <= set(responses), (method, path)
            error = responses["403"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
            if "{" in path:
                assert "404" in responses, (method, path)


def test_length_limits_apply_to_what_was_sent(signed_in_client: APIClient) -> None:
    padded = "x" * 150 + "  "

    response = signed_in_client.patch(ME, {"full_name": padded}, format="json")

    assert response.status_code == 400
    assert "full_name" in response.json()["error"]["details"]
