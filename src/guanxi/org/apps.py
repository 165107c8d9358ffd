from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "guanxi.org"
    label = "org"
    verbose_name = _("组织与权限")

    def ready(self) -> None:
        from guanxi.org.roles import ensure_default_roles

        # Wiring, not a domain rule: after migrations have created the permissions, make
        # sure the default roles exist (existing roles are left as administrators set them).
        post_migrate.connect(ensure_default_roles, sender=self)
