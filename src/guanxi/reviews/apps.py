from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "guanxi.reviews"
    label = "reviews"
    verbose_name = _("年度评定")
