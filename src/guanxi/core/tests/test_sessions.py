"""The session engine (core.sessions) and the user backend (org.backends): each reads its
row with one plain statement and must give what Django's own would."""

import datetime as dt

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.core.sessions import SessionStore
from guanxi.org.backends import ModelBackend

pytestmark = pytest.mark.django_db


def test_a_session_reads_back_what_was_saved():
    store = SessionStore()
    store["cart"] = {"客户": [1, 2, 3]}
    store.save()
    again = SessionStore(store.session_key)
    assert again["cart"] == {"客户": [1, 2, 3]}
    assert DjangoSessionStore(store.session_key).load() == again.load()


def test_an_expired_or_unknown_session_is_empty_and_forgotten():
    store = SessionStore()
    store["x"] = 1
    store.save()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert expired.load() == {} and expired.session_key is None
    unknown = SessionStore("k" * 32)
    assert unknown.load() == {} and unknown.session_key is None


def test_the_user_is_what_the_orm_reads(org):
    user = org.sales_bj
    user.last_login = timezone.now()
    user.save()
    ours, django = ModelBackend().get_user(user.pk), DjangoModelBackend().get_user(user.pk)
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(ours, field.attname) == getattr(django, field.attname), field.name
    assert timezone.is_aware(ours.last_login) and timezone.is_aware(ours.date_joined)
    assert ours._state.adding is False and ours._state.db == "default"
    assert ours.has_perm("customers.view_customer")


def test_no_user_for_an_unknown_malformed_or_inactive_id(org):
    assert ModelBackend().get_user(987654) is None
    assert ModelBackend().get_user("not-a-number") is None
    org.sales_tj.is_active = False
    org.sales_tj.save()
    assert ModelBackend().get_user(org.sales_tj.pk) is None


def test_signing_in_and_out_through_the_pages(org):
    client = Client()
    client.force_login(org.sales_bj)
    assert client.session[BACKEND_SESSION_KEY] == "guanxi.org.backends.ModelBackend"
    assert client.get(reverse("customer_list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("customer_list")).status_code == 302
