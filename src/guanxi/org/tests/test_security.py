"""Login security: lockout (policy security.*), strong passwords, production settings."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from guanxi.core.errors import ValidationFailed
from guanxi.core.testing import PASSWORD
from guanxi.org.services import user_create
from guanxi.policy.services import policy_set


def attempt(username, password):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.1.2.3")
    return authenticate(request=request, username=username, password=password)


def locks_after(username, failures):
    for _ in range(failures - 1):
        assert attempt(username, "wrong-password") is None
    # Still able to log in right before the limit...
    assert attempt(username, PASSWORD) is not None
    for _ in range(failures):
        assert attempt(username, "wrong-password") is None
    # ...and refused, even with the right password, once the limit is reached.
    return attempt(username, PASSWORD) is None


def test_lockout_after_default_five_failures(org):
    assert locks_after("sales_bj", 5)


def test_lockout_threshold_is_policy(org):
    policy_set(actor=org.admin, values={"security.lockout_failures": 3}, note="更严格")
    assert locks_after("sales_bj", 3)
    # other accounts are not affected by one account's lockout
    assert attempt("sales_sh", PASSWORD) is not None


def test_lockout_duration_is_policy(org):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    policy_set(actor=org.admin, values={"security.lockout_minutes": 60}, note="x")
    for username in ("sales_bj", "sales_tj"):
        for _ in range(5):
            attempt(username, "wrong")
    # (every attempt while locked restarts the clock, so each account is probed once)
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(minutes=59)):
        assert attempt("sales_tj", PASSWORD) is None
    with time_machine.travel(start + dt.timedelta(minutes=61)):
        assert attempt("sales_bj", PASSWORD) is not None


@pytest.mark.parametrize(
    "password, fragment",
    [("short1A!", "太短"), ("alllowercaseletters", "至少三类"), ("12345678901234", "只包含数字")],
)
def test_weak_passwords_refused_in_chinese(org, password, fragment):
    with pytest.raises(ValidationFailed) as info:
        user_create(actor=org.admin, username="newbie", password=password, roles=["salesperson"])
    assert any(fragment in message for message in info.value.detail["password"])


def test_production_configuration_passes_check_deploy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"GUANXI_DEV", "DEBUG"}}
    env.update(
        SECRET_KEY="a" * 20 + "-Production-Key-" + "z9" * 20,
        ALLOWED_HOSTS="crm.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "-m", "guanxi", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"GUANXI_DEV", "DEBUG", "SECRET_KEY"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "guanxi", "check"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
