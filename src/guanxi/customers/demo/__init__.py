"""A realistic demo company for `python -m guanxi seed-demo` (and `print-demo-logins`).

Deterministic: the same --seed gives the same company, customers, names, credit codes and
contacts (dates are laid out relative to today, so the demo always looks current).

- data.py: the fixed tables (organisation, accounts, reference data, cities, name parts).
- generator.py: customer plans from a seed, no database access.
- writer.py: departments and users through org.services, like any set-up command;
  reference data if missing; customers, contacts, relations, special dates and their
  "customer.created" audit rows bulk-written in one transaction, because this is a data
  generator and a 100,000-customer demo must take minutes, not hours. Codes come from the
  policy in force (customers.types, grading.bands, cooperation.ladder, credit.levels).
"""

from guanxi.customers.demo.data import (
    BATCH_SIZE,
    DEFAULT_CUSTOMERS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERS,
    DEPARTMENTS,
)
from guanxi.customers.demo.generator import DemoError, DemoGenerator, name_core
from guanxi.customers.demo.writer import SeedSummary, demo_users_in_database, seed_demo

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "DEPARTMENTS",
    "DemoError",
    "DemoGenerator",
    "SeedSummary",
    "demo_users_in_database",
    "name_core",
    "seed_demo",
]
