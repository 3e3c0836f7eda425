"""Pages every visitor can reach through Django's test client: the password reset in the
site's own pages (both languages) and the messages of the last action on any page."""

import re

import pytest
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.notifications import delivery
from tessera.storefront import views
from tessera.storefront.tests.html import texts

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.mark.parametrize(
    ("headers", "titles", "sign_in_label"),
    [
        (
            EN,
            [
                "Reset your password",
                "Check your email",
                "Choose a new password",
                "Password changed",
            ],
            "Sign in",
        ),
        (
            ZH,
            ["重设密码", "请查收邮件", "设置新密码", "密码已修改"],
            "登录",
        ),
    ],
)
def test_password_reset_runs_in_the_sites_own_pages(client, headers, titles, sign_in_label):
    # given a fan with an email address
    fan = make_user(username="lina", email="lina@example.com", password="old-pass-word-1")

    # when they ask for a reset link
    form_page = client.get("/accounts/password_reset/", **headers).content.decode()
    sent = client.post(
        "/accounts/password_reset/", {"email": "lina@example.com"}, follow=True, **headers
    )
    # and the outbox's worker sends it; they open its link, then choose a new password
    delivery.deliver_due(now=timezone.now())
    (message,) = mail.outbox
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", message.body).group(1)
    confirm = client.get(link, follow=True, **headers)
    done = client.post(
        confirm.redirect_chain[-1][0],
        {"new_password1": "new-pass-word-2", "new_password2": "new-pass-word-2"},
        follow=True,
        **headers,
    )

    # then every step is a page of the site (its header and footer) in the fan's language
    pages = [form_page, sent.content.decode(), confirm.content.decode(), done.content.decode()]
    assert [texts(html, css_class="page-title") for html in pages] == [[t] for t in titles]
    assert all('class="site-header"' in html and 'class="site-footer"' in html for html in pages)
    assert texts(pages[3], css_class="button-primary") == [sign_in_label]
    # and the new password is the one that works
    fan.refresh_from_db()
    assert fan.check_password("new-pass-word-2") and not fan.check_password("old-pass-word-1")


def test_password_reset_with_an_unknown_address_says_the_same_and_sends_nothing(client):
    response = client.post(
        "/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True, **EN
    )

    assert texts(response.content.decode(), css_class="page-title") == ["Check your email"]
    assert mail.outbox == []


def test_a_used_or_forged_reset_link_explains_itself_in_both_languages(client):
    make_user(username="lina", email="lina@example.com")
    forged = "/accounts/reset/MQ/set-password/"

    english = client.get("/accounts/reset/MQ/abc-123/", follow=True, **EN).content.decode()
    chinese = client.get(forged, **ZH).content.decode()

    assert texts(english, css_class="page-title") == ["This link no longer works"]
    assert texts(english, css_class="button-primary") == ["Send me a new link"]
    assert texts(chinese, css_class="page-title") == ["链接已失效"]


def test_password_change_pages_are_the_sites_own(client):
    make_user(username="lina", password="old-pass-word-1")
    client.login(username="lina", password="old-pass-word-1")

    form_page = client.get("/accounts/password_change/", **ZH).content.decode()
    done = client.post(
        "/accounts/password_change/",
        {
            "old_password": "old-pass-word-1",
            "new_password1": "new-pass-word-2",
            "new_password2": "new-pass-word-2",
        },
        follow=True,
        **EN,
    ).content.decode()

    assert texts(form_page, css_class="page-title") == ["修改密码"]
    assert texts(done, css_class="page-title") == ["Password changed"]


def test_the_last_actions_messages_show_on_a_page_that_has_no_place_of_its_own(rf: RequestFactory):
    # given a message waiting for the next page (e.g. after a redirect to the home page)
    request = rf.get("/")
    request.user = AnonymousUser()
    request._messages = CookieStorage(request)
    messages.success(request, "Transfer cancelled: the ticket stays yours.")

    # when the home page renders
    html = views.home(request).content.decode()

    # then the message is shown once, above the content
    assert texts(html, css_class="site-messages") == ["Transfer cancelled: the ticket stays yours."]
    assert texts(html, css_class="notice-success") == [
        "Transfer cancelled: the ticket stays yours."
    ]
