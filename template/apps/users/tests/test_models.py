import pytest

from apps.users.models import User

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_is_stored_lower_case() -> None:
    user = User.objects.create_user(email="  Ada@Example.COM ", password="s3cret-pass")

    assert user.email == "ada@example.com"
    assert user.check_password("s3cret-pass")
    assert User.USERNAME_FIELD == "email"
    assert not hasattr(user, "username")


def test_a_user_needs_an_email() -> None:
    with pytest.raises(ValueError, match="e-mail address is required"):
        User.objects.create_user(email="", password="x")


def test_superuser_is_staff_and_superuser() -> None:
    admin = User.objects.create_superuser(email="root@example.com", password="x")

    assert admin.is_staff
    assert admin.is_superuser


def test_superuser_flags_cannot_be_turned_off() -> None:
    with pytest.raises(ValueError, match="is_staff and is_superuser"):
        User.objects.create_superuser(email="root@example.com", password="x", is_staff=False)


def test_names_fall_back_to_the_email() -> None:
    named = User(email="grace@example.com", full_name="Grace Hopper")
    anonymous = User(email="anon@example.com")

    assert str(named) == "grace@example.com"
    assert named.get_full_name() == "Grace Hopper"
    assert named.get_short_name() == "Grace"
    assert anonymous.get_full_name() == "anon@example.com"
    assert anonymous.get_short_name() == "anon@example.com"


def test_user_ids_are_uuids() -> None:
    user = User.objects.create_user(email="id@example.com", password="x")

    assert len(str(user.pk)) == 36
