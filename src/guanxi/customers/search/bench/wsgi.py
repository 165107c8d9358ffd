"""WSGI entry of the benchmark server (gunicorn guanxi.customers.search.bench.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "guanxi.customers.search.bench.settings"
application = get_wsgi_application()
