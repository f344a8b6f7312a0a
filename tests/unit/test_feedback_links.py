"""Signed feedback links: a token says one post and one label, and nothing else passes (pure)."""

from __future__ import annotations

import pytest

from monitor.feedback_links import (
    MAX_AGE,
    FeedbackLink,
    FeedbackLinkError,
    feedback_url,
    sign_feedback,
    verify_feedback,
)

SECRET = "desk-secret"
ISSUED = 1_796_400_000


def test_a_token_round_trips() -> None:
    """What was signed comes back: the post, the label, when it was issued."""
    token = sign_feedback(42, "false_positive", SECRET, issued=ISSUED)
    assert verify_feedback(token, SECRET, now=ISSUED + 60) == FeedbackLink(
        42, "false_positive", ISSUED
    )
    assert SECRET not in token


def _altered(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


GOOD = sign_feedback(42, "confirmed", SECRET, issued=ISSUED)


@pytest.mark.parametrize(
    ("token", "said"),
    [
        pytest.param(_altered(GOOD, 0, "43"), "not valid", id="other-post"),
        pytest.param(_altered(GOOD, 1, "false_positive"), "not valid", id="other-label"),
        pytest.param(_altered(GOOD, 2, str(ISSUED + 86_400)), "not valid", id="later-issue"),
        pytest.param(_altered(GOOD, 3, "A" * 43), "not valid", id="other-signature"),
        pytest.param(sign_feedback(42, "confirmed", "other", issued=ISSUED), "not valid", id="key"),
        pytest.param("42.confirmed", "not a feedback link token", id="short"),
        pytest.param("x.confirmed.1.sig", "not a feedback link token", id="not-a-number"),
        pytest.param("", "not a feedback link token", id="empty"),
    ],
)
def test_altered_or_foreign_tokens_are_refused(token: str, said: str) -> None:
    """Changing any part of a token, or another secret's token, fails verification."""
    with pytest.raises(FeedbackLinkError, match=said):
        verify_feedback(token, SECRET, now=ISSUED)


def test_a_token_expires() -> None:
    """A token older than max_age is refused, one just within it passes."""
    assert verify_feedback(GOOD, SECRET, now=ISSUED + MAX_AGE).post_id == 42
    with pytest.raises(FeedbackLinkError, match="expired"):
        verify_feedback(GOOD, SECRET, now=ISSUED + MAX_AGE + 1)


@pytest.mark.parametrize(
    ("label", "secret", "said"),
    [
        pytest.param("missed", SECRET, "a link records confirmed or false_positive", id="missed"),
        pytest.param("confirmed", "", "no feedback secret", id="no-secret"),
    ],
)
def test_what_cannot_be_signed(label: str, secret: str, said: str) -> None:
    """Only confirmed and false positive go in links, and only with a secret."""
    with pytest.raises(FeedbackLinkError, match=said):
        sign_feedback(1, label, secret)


def test_the_url_is_the_desks_feedback_route() -> None:
    """The link is the desk's /feedback/<token>, whatever trailing slash the base has."""
    url = feedback_url("https://desk.example.org/", 7, "confirmed", SECRET, issued=ISSUED)
    token = url.removeprefix("https://desk.example.org/feedback/")
    assert verify_feedback(token, SECRET, now=ISSUED).post_id == 7
