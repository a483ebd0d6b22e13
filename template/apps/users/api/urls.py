from django.urls import path

from apps.users.api import views

app_name = "users-api"

urlpatterns = [
    path("", views.UserListView.as_view(), name="list"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/avatar/", views.AvatarView.as_view(), name="avatar"),
    path("<uuid:pk>/", views.UserDetailView.as_view(), name="detail"),
]
