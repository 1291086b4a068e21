"""A new merchant's whole journey in headless Chromium, against the live server and the sandboxes, in
Dutch, French and English on a desktop, and once in Dutch on a 390×844 phone.

sign-up → the e-mailed installation URL → connect the KMO Shops sandbox (OAuth) → paste the EF sandbox key
→ save the configuration without touching a field → choose the password on the installation page → a paid
order appears on Report with its EF invoice number → a failing order appears on Errors → More info → fix
(add the VAT rate in EF, ReConnect) → Process on its row → Report.

Every merchant page is checked for a horizontal scrollbar and, in Dutch and French, for English left
untranslated (any of our texts, from the catalogue, and the counterparts' words: tests/english.py); so are
the sign-up and alert e-mails, which must also be plain text without HTML entities. Screenshots go to test-artifacts/browser/<language>-<device>/.
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
from django.utils import translation
from django.utils.translation import gettext

from dashboard.alerts import alerts_send
from tests.conftest import ROOT, control, order_fixture
from tests.english import english_in

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
    sync_playwright = None


@pytest.fixture
def chromium():
    if sync_playwright is None:
        pytest.skip("Python Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run does this)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread beside the ORM
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
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCALES = {"en": "en-GB", "nl": "nl-BE", "fr": "fr-BE"}
# English a Dutch or French merchant must never meet on our pages (checked where the translation differs),
# and words that are never right in any language.
UNTRANSLATED = [
    "More info",
    "Report problem",
    "Ignore selected",
    "Process selected",
    "Look for new orders now",
    "Go to the dashboard",
    "Save configuration",
    "Verify and save",
    "Log out",
    "How to fix it",
    "Export CSV",
    "Ask us",
    "Choose your dashboard password",
    "Payment statuses that make an order processable",
    "Process orders created on or after",
    "will be processed again",
    "Installation complete",
    "Waiting for payment",
    "Processing, attempt",
    "All checks passed",
    "Check failed",
    "Created EF invoice",
    "sent via Peppol",
    "After the invoice",
    "Credit note",
    "Refunded in the shop",
    "API keys",
    "Make a key",
    "Last used",
]
NEVER = ["Bad Request", "AWAITING_PAYMENT", "Django administration", "order(s)"]


class Journey:
    def __init__(self, page, language: str, device: str) -> None:
        self.page, self.language, self.device = page, language, device
        self.folder = ARTIFACTS / f"{language}-{device}"
        self.folder.mkdir(parents=True, exist_ok=True)

    def t(self, text: str) -> str:
        with translation.override(self.language):
            return gettext(text)

    def check(self, name: str) -> None:
        """A merchant page: no sideways scrolling, nothing left in English; then a screenshot."""
        page = self.page
        page.wait_for_load_state()
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (
            f"{name}: the page scrolls sideways by {overflow}px ({self.language}, {self.device})"
        )
        text = page.locator("body").inner_text()
        assert english_in(text, self.language) == [], f"{name}: English or HTML entities ({self.language})"
        assert not re.search(r"(?<!\.)\.\.(?!\.)", text), f"{name}: a sentence ends in two full stops"
        for phrase in NEVER:
            assert phrase not in text, f"{name}: '{phrase}' on the page"
        if self.language != "en":
            for phrase in UNTRANSLATED:
                if self.t(phrase) != phrase:
                    assert phrase not in text, f"{name}: '{phrase}' is not translated ({self.language})"
        if self.device == "desktop":
            height = page.evaluate("document.querySelector('header.top').offsetHeight")
            assert height < 70, f"{name}: the header wraps ({height}px)"


def recent(order: dict) -> dict:
    order = copy.deepcopy(order)
    order["createTimestamp"] = order["updateTimestamp"] = int(time.time())
    order["createDate"] = order["updateDate"] = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime())
    return order


@pytest.mark.parametrize(
    ("language", "device"),
    [("nl", "desktop"), ("fr", "desktop"), ("en", "desktop"), ("nl", "phone")],
)
def test_a_new_merchant_installs_and_sees_orders_go_through(
    chromium, live_server, sandboxes, settings, language, device
):
    page = chromium.new_page(locale=LOCALES[language], viewport=DESKTOP if device == "desktop" else PHONE)
    page.set_default_timeout(20_000)
    journey = Journey(page, language, device)
    t = journey.t
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
    journey.check("00-integrations")
    page.click("#start-trial")
    page.fill("#id_email", "lotte@groenekoffieboon.example")
    page.fill("#id_company_name", "De Groene Koffieboon BV")
    page.fill("#id_shop_url", "https://www.degroenekoffieboon.example")
    page.click("#signup-submit")
    expect(page.locator("h1")).to_have_text(t("Check your mailbox"))
    journey.check("01-signed-up")

    # 2. The one e-mail, in the merchant's language, carries the installation URL.
    body = mail.outbox[-1].body
    assert english_in(mail.outbox[-1].subject + body, language) == []
    install_url = re.search(r"http\S+/install/\S+", body).group(0)
    assert install_url.endswith(f"?lang={language}")

    # 3. Connect KMO Shops through the sandbox's OAuth consent page.
    page.goto(install_url)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#dot-shop .dot")).to_have_class(re.compile("none"))
    journey.check("02-installation")
    page.click("#connect-shop")
    expect(page.locator("h1")).to_have_text("KMO Shops (sandbox)")
    page.click("#approve")
    expect(page.locator(".messages")).to_contain_text(t("KMO Shops is connected."))
    expect(page.locator("#dot-shop .dot")).to_have_class(re.compile("ok"))

    # 4. Paste the EF key in the popup; a wrong one first.
    page.click("#connect-ef")
    page.fill("#id_api_key", "not-a-key")
    page.click("#ef-save")
    expect(page.locator("#ef-dialog .errorlist")).to_be_visible()
    journey.check("03-wrong-ef-key")
    page.fill("#id_api_key", "ef-browser-key")
    page.click("#ef-save")
    expect(page.locator("#dot-ef .dot")).to_have_class(re.compile("ok"))

    # 5. Save the configuration as it is offered: no field needs entering again.
    page.click("#config-save")
    expect(page.locator("#install-complete")).to_be_visible()
    journey.check("04-installation-complete")

    # 6. Choose the password right there; it logs in and opens the dashboard.
    page.fill("#install-password #id_new_password1", "Koffie-is-lekker-2026")
    page.fill("#install-password #id_new_password2", "Koffie-is-lekker-2026")
    page.click("#install-password-save")
    expect(page.locator("nav.tabs")).to_be_visible()
    journey.check("05-dashboard")

    # 7. A paid order placed in the shop appears on Report with its EF invoice number and local money.
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders", {"order": recent(case["order"])})
    assert sandboxes.shop.wait_idle(20)
    page.click(f"nav.tabs >> text={t('Report')}")
    row = page.locator("tr[data-order='K3M7Q']")
    expect(row).to_be_visible()
    [number] = [inv["number"] for inv in sandboxes.ef_app.accounts["ef-browser-key"].invoices.values()]
    expect(row.locator(".invoice-number")).to_contain_text(number)
    money = row.locator("td.money").inner_text()
    written = {"nl": r"€ \d+,\d\d", "fr": r"\d+,\d\d €", "en": r"€\d+\.\d\d"}[language]
    assert re.fullmatch(written, money), money  # as the language writes money, here and in every sentence
    journey.check("06-report")

    # 8. A failing order (Dutch 9 % VAT, unknown to EF) appears on Errors; More info explains it.
    failing = order_fixture("a12")["order"]
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders", {"order": recent(failing)})
    assert sandboxes.shop.wait_idle(20)
    page.click(f"nav.tabs >> text={t('Errors')}")
    row = page.locator(f"tr[data-order='{failing['id']}']")
    expect(row.locator(".error-code")).to_have_text("VAT_RATE_UNKNOWN")
    journey.check("07-errors")
    row.locator(f"text={t('More info')}").click()
    expect(page.locator("#how-to-fix")).to_be_visible()
    journey.check("08-more-info")

    # 8b. The alert mail about it reads in the merchant's language, as plain text, with the fix.
    alerts_send()
    [alert] = [m for m in mail.outbox if failing["id"] in m.body]
    assert english_in(alert.subject + "\n" + alert.body, language) == [], alert.body
    assert page.locator("#how-to-fix").inner_text().split(":", 1)[1].strip() in alert.body

    # 9. Fix: add 9 % in EF, ReConnect so the rates are read again, then Process on the order's row.
    control(sandboxes.ef.url, "accounts", {"api_key": "ef-browser-key", "rates": [21, 12, 9, 6]})
    page.click(f"nav.tabs >> text={t('Connections')}")
    page.fill("#id_api_key", "ef-browser-key")
    page.click("#reconnect-ef")
    expect(page.locator(".messages")).to_contain_text(t("EenvoudigFactureren is connected."))
    journey.check("09-connections")
    page.click(f"nav.tabs >> text={t('Errors')}")
    page.locator(f"tr[data-order='{failing['id']}'] .row-process").click()
    expect(page.locator(".messages .success")).to_be_visible()
    journey.check("10-processed")

    # 10. It is on Report now, with its own invoice number.
    page.click(f"nav.tabs >> text={t('Report')}")
    expect(page.locator(f"tr[data-order='{failing['id']}'] .invoice-number")).to_contain_text("2026-")
    journey.check("11-report-after-fix")
    assert len(sandboxes.ef_app.accounts["ef-browser-key"].invoices) == 2

    # 10b. A Belgian business order goes out via Peppol; refunded in the shop, it gets a credit note.
    business = recent(order_fixture("a02")["order"])
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders", {"order": business})
    assert sandboxes.shop.wait_idle(20)
    page.click(f"nav.tabs >> text={t('Report')}")
    row = page.locator(f"tr[data-order='{business['id']}']")
    expect(row).to_contain_text(t("sent via Peppol"))
    control(sandboxes.kmoshops.url, f"stores/{store_id}/orders/{business['id']}/refund", {"amount": 25})
    assert sandboxes.shop.wait_idle(20)
    page.reload()
    [credit] = [
        inv
        for inv in sandboxes.ef_app.accounts["ef-browser-key"].invoices.values()
        if inv["type"] == "creditnote"
    ]
    with translation.override(language):
        credit_label = gettext("credit note %(number)s") % {"number": credit["number"]}
    expect(row).to_contain_text(credit_label)
    journey.check("11b-report-peppol-credit-note")
    row.locator(f"text={t('More info')}").click()
    expect(page.locator("#follow-ups")).to_contain_text(credit["number"])
    journey.check("11c-after-the-invoice")

    # 11. The merchant's other pages read as well: Configuration keeps the start date, Ignored, Ask us, Tickets.
    page.click(f"nav.tabs >> text={t('Configuration')}")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", page.input_value("#id_process_from"))
    journey.check("12-configuration")
    page.click("#tab-ignored")
    journey.check("13-ignored")
    page.click("#ask-us")
    page.fill("#ask-message", "Kan ik de factuur in het Engels krijgen?")
    page.click("#ask-send")
    expect(page.locator("#tickets")).to_contain_text("Kan ik de factuur in het Engels krijgen?")
    journey.check("14-tickets")

    # 12. The merchant makes an API key for their accountant: shown once, and it works.
    page.click("#tab-api")
    page.fill("#key-name", "Boekhouder")
    page.click("#create-key")
    key = page.locator("#new-key-value").inner_text()
    journey.check("15-api-keys")
    import requests

    answer = requests.get(
        f"{live_server.url}/api/v1/orders?tab=report",
        headers={"Authorization": f"Bearer {key}", "Accept-Language": language},
        timeout=10,
    )
    assert answer.status_code == 200 and len(answer.json()["results"]) == 3

    # 13. The accountant's next stop, the API docs, renders here with no internet (#20.5).
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator("h1").first).to_contain_text("KMO Shops → EenvoudigFactureren API")
    page.screenshot(path=str(journey.folder / "16-api-docs.png"))


@pytest.fixture
def laptop_merchant(request):
    """A merchant with a licence, made before the browser starts: rows written while Playwright's loop runs
    in this thread are written on a connection Django's test teardown never closes."""
    from tests.factories import licence_for, login

    user = login(f"laptop-{request.node.name}@shop.example", password="laptop-pass-1234")
    return user, licence_for(user, company_name="Groene Koffieboon Gent")


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize("width", [1024, 1200])
def test_a_laptop_never_scrolls_sideways(laptop_merchant, chromium, live_server, language, width):
    """Between a phone and a wide desktop the header (licence, trial, both dots, language, log out) is
    longer in Dutch and French than the window: it must wrap, not push the page sideways."""
    from django.urls import reverse

    user, licence = laptop_merchant
    page = chromium.new_page(locale=LOCALES[language], viewport={"width": width, "height": 800})
    page.set_default_timeout(20_000)
    journey = Journey(page, language, f"laptop-{width}")
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "laptop-pass-1234")
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/dashboard/**")
    for name, url in [
        ("open", reverse("dashboard-tab", args=[licence.key, "open"])),
        ("configuration", reverse("dashboard-configuration", args=[licence.key])),
    ]:
        page.goto(live_server.url + url)
        journey.check(name)
    page.close()
