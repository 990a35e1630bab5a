"""Shared browser-test fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def browser_context(browser):
    contexts = []

    def make(locale: str = "zh-CN"):
        ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()
