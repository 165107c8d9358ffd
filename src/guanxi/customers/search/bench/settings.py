"""Settings of the benchmark's production server: the project's own, read from the same
environment, plus one URL — a trivial view, the floor the list page is compared with."""

from guanxi.settings import *  # noqa: F403

ROOT_URLCONF = "guanxi.customers.search.bench.urls"
