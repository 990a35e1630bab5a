from django.urls import path

from . import views

app_name = "org"

urlpatterns = [
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/login/totp/", views.login_totp_view, name="login_totp"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/totp/", views.totp_view, name="totp"),
    path("accounts/profile/", views.profile_view, name="profile"),
    path("org/branches/", views.branch_list, name="branches"),
    path("org/branches/new/", views.branch_create, name="branch_create"),
    path("org/branches/<int:pk>/edit/", views.branch_edit, name="branch_edit"),
    path("org/staff/", views.staff_list, name="staff"),
    path("org/staff/new/", views.staff_create, name="staff_create"),
    path("org/staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("org/staff/<int:pk>/edit/", views.staff_edit, name="staff_edit"),
    path("org/staff/<int:pk>/<str:action>/", views.staff_action, name="staff_action"),
]
