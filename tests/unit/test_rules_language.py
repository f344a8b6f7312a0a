"""Language guess for alerts."""

from __future__ import annotations

import pytest

from monitor.rules.language import detect_language

CASES = [
    pytest.param("Военнослужащий ушёл из части, его ищут.", "ru", id="russian"),
    pytest.param("Військовий не повернувся з відпустки до частини.", "uk", id="ukrainian"),
    pytest.param("The soldier failed to return from leave.", "en", id="english"),
    pytest.param("Der Soldat ist nicht zurückgekehrt, sagte die Polizei.", "other", id="german"),
    pytest.param("🔥🔥🔥 123", "other", id="no-letters"),
    pytest.param("", "other", id="empty"),
]


@pytest.mark.parametrize(("text", "language"), CASES)
def test_detect_language(text: str, language: str) -> None:
    """Each text is labelled with its language."""
    assert detect_language(text) == language
