"""A new merchant's whole journey in headless Chromium, against the live server and the sandboxes.

sign-up → the e-mailed installation URL → connect the KMO Shops sandbox (OAuth) → paste the EF sandbox key
→ save configuration → a paid order appears on Report with its EF invoice number → a failing order appears
on Errors → More info → fix (add the VAT rate in EF, ReConnect) → Process → Report.
Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from django.core import mail

from tests.conftest import ROOT, control, order_fixture

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
    sync_playwright = None


@pytest.fixture
def browser_page():
    if sync_playwright is None:
        pytest.skip("Python Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run does this)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread beside the ORM
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def recent(order: dict) -> dict:
    order = copy.deepcopy(order)
    order["createTimestamp"] = order["updateTimestamp"] = int(time.time())
    order["createDate"] = order["updateDate"] = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime())
    return order


def test_a_new_merchant_installs_and_sees_orders_go_through(browser_page, live_server, sandboxes, settings):
    page = browser_page
    settings.SITE_URL = live_server.url
    sandboxes.shop.webhook_url = f"{live_server.url}/webhooks/kmoshops/"
    case = order_fixture("a01")
    store_id = control(sandboxes.kmoshops.url, "stores", {"profile": case["store_profile"]})["store_id"]
    control(
        sandboxes.ef.url,
        "accounts",
        {"api_key": "ef-browser-key", "name": "Groene Koffieboon", "rates": [21, 12, 6]},
    )

    # 1. Sign up on the integrations page.
    page.goto(live_server.url + "/")
    page.click("#start-trial")
    page.fill("#id_email", "lotte@groenekoffieboon.example")
    page.fill("#id_company_name", "De Groene Koffieboon BV")
    page.fill("#id_shop_url", "https://www.degroenekoffieboon.example")
    page.click("#signup-submit")
    expect(page.locator("h1")).to_have_text("Check your mailbox")
    shot(page, "01-signed-up")

    # 2. The one e-mail carries the installation URL and the login details.
    body = mail.outbox[-1].body
    install_url = re.search(r"http\S+/install/\S+/", body).group(0)
    password_url = re.search(r"http\S+/password/set/\S+/", body).group(0)

    # 3. Connect KMO Shops through the sandbox's OAuth consent page.
    page.goto(install_url)
    expect(page.locator("#dot-shop .dot")).to_have_class(re.compile("none"))
    page.click("#connect-shop")
    expect(page.locator("h1")).to_have_text("KMO Shops (sandbox)")
    shot(page, "02-kmoshops-consent")
    page.click("#approve")
    expect(page.locator(".messages")).to_contain_text("KMO Shops is connected.")
    expect(page.locator("#dot-shop .dot")).to_have_class(re.compile("ok"))

    # 4. Paste the EF key in the popup; a wrong one first.
    page.click("#connect-ef")
    page.fill("#id_api_key", "not-a-key")
    page.click("#ef-save")
    expect(page.locator("#ef-dialog")).to_contain_text("does not accept this API key")
    page.fill("#id_api_key", "ef-browser-key")
    page.click("#ef-save")
    expect(page.locator("#dot-ef .dot")).to_have_class(re.compile("ok"))

    # 5. Save the configuration: installation complete.
    page.click("#config-save")
    expect(page.locator("#install-complete")).to_be_visible()
    shot(page, "03-installation-complete")

    # 6. Choose a password through the e-mailed link, log in.
    page.goto(password_url)
    page.fill("#id_new_password1", "Koffie-is-lekker-2026")
    page.fill("#id_new_password2", "Koffie-is-lekker-2026")
    page.click("input[type=submit]")
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "lotte@groenekoffieboon.example")
    page.fill("#id_password", "Koffie-is-lekker-2026")
    page.click("#login-submit")
    expect(page.locator("nav.tabs")).to_be_visible()

    # 7. A paid order placed in the shop appears on Report with its EF invoice number.
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders", {"order": recent(case["order"])})
    assert sandboxes.shop.wait_idle(20)
    page.click("nav.tabs >> text=Report")
    row = page.locator("tr[data-order='K3M7Q']")
    expect(row).to_be_visible()
    invoice = sandboxes.ef_app.accounts["ef-browser-key"].invoices
    [number] = [inv["number"] for inv in invoice.values()]
    expect(row.locator(".invoice-number")).to_contain_text(number)
    shot(page, "04-report")

    # 8. A failing order (Dutch 9 % VAT, unknown to EF) appears on Errors; More info explains it.
    failing = order_fixture("a12")["order"]
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders", {"order": recent(failing)})
    assert sandboxes.shop.wait_idle(20)
    page.click("nav.tabs >> text=Errors")
    row = page.locator(f"tr[data-order='{failing['id']}']")
    expect(row.locator(".error-code")).to_have_text("VAT_RATE_UNKNOWN")
    shot(page, "05-errors")
    row.locator("text=More info").click()
    expect(page.locator("#how-to-fix")).to_contain_text("Add the VAT rate in EenvoudigFactureren")
    shot(page, "06-more-info")

    # 9. Fix: add 9 % in EF, ReConnect so the rates are read again, then Process.
    control(sandboxes.ef.url, "accounts", {"api_key": "ef-browser-key", "rates": [21, 12, 9, 6]})
    page.click("nav.tabs >> text=Connections")
    page.fill("#id_api_key", "ef-browser-key")
    page.click("text=ReConnect >> nth=1")
    expect(page.locator(".messages")).to_contain_text("EenvoudigFactureren is connected.")
    page.click("nav.tabs >> text=Errors")
    page.locator(f"tr[data-order='{failing['id']}'] >> text=More info").click()
    page.click("#process-order")
    expect(page.locator(".messages")).to_contain_text("will be processed again")

    # 10. It is on Report now, with its own invoice number.
    page.click("nav.tabs >> text=Report")
    expect(page.locator(f"tr[data-order='{failing['id']}'] .invoice-number")).to_contain_text("2026-")
    shot(page, "07-report-after-fix")
    assert len(sandboxes.ef_app.accounts["ef-browser-key"].invoices) == 2
