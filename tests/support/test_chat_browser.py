"""The chat box in real headless Chromium: type a question, read the answer, reach a person."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.web.conftest import LiveServer, place_order, server  # noqa: F401
from tests.web.test_browser import browser, database_url, page  # noqa: F401 - shared fixtures


def test_the_chat_answers_and_opens_an_inquiry(
    server: LiveServer,  # noqa: F811
    tenant: Tenant,
    page: Any,  # noqa: F811
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        order = place_order(http, tenant)
    page.goto(f"{server.url}/t/{order['tracking_code']}?lang=pt-BR")
    page.fill("#chat-question", "cadê meu pedido?")
    page.click("#chat-form button[type=submit]")
    answer = page.locator("#chat-log .chat-assistant").first
    answer.wait_for()
    assert "Curitiba" in answer.inner_text()
    # The script kept us on the page and remembered the conversation.
    assert page.url.endswith("?lang=pt-BR")
    conversation = page.locator("input[name=conversation_id]").input_value()
    assert conversation.isdigit()
    page.fill("#chat-question", "quero falar com um atendente")
    page.click("#chat-form button[type=submit]")
    handed = page.locator("#chat-log .chat-assistant").nth(1)
    handed.wait_for()
    assert "Abrimos a solicitação nº" in handed.inner_text()
    inquiry_id = handed.get_attribute("data-inquiry")
    assert inquiry_id is not None
    with httpx.Client(base_url=server.url, timeout=10) as http:
        inquiry = http.get(f"/api/v1/inquiries/{inquiry_id}", headers=tenant.headers).json()
    assert inquiry["conversation_id"] == int(conversation)
    assert [t["role"] for t in inquiry["conversation"]["turns"]] == ["shopper", "assistant"] * 2
    assert page.locator("#chat-log .chat-shopper").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_without_javascript_the_form_still_answers(
    server: LiveServer,  # noqa: F811
    tenant: Tenant,
    browser: Any,  # noqa: F811
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        order = place_order(http, tenant)
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    try:
        tab.goto(f"{server.url}/t/{order['tracking_code']}?lang=en")
        tab.fill("#chat-question", "I want to talk to a human")
        tab.click("#chat-form button[type=submit]")
        tab.wait_for_load_state()
        assert "We opened request #" in tab.locator("#chat-log .chat-assistant").inner_text()
    finally:
        context.close()
