from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from apps.users.models import User
        from apps.users.signals import forget_cached_profile

        for signal in (post_save, post_delete):
            signal.connect(forget_cached_profile, sender=User, dispatch_uid="users.profile_cache")
