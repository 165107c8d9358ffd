"""Signing in and out, and changing one's own password.

Django's auth views unchanged, with our templates. Login goes through django-axes
(AUTHENTICATION_BACKENDS): the form passes the request to authenticate(), and too many
failures answer with org.security.lockout_response (policy: security.lockout_*).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.org import services


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    extra_context = {"title": _("登录")}


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot sign someone out."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")
    extra_context = {"title": _("修改密码")}

    def form_valid(self, form):  # noqa: ANN001, ANN201
        response = super().form_valid(form)
        services.user_password_changed_record(actor=self.request.user)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"
    extra_context = {"title": _("密码已修改")}
