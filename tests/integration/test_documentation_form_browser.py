"""The documentation form in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`)
driven by Selenium, against the app served on a loopback port.

Opens the signed link, checks the pre-filled answers are shown, toggles answers that show and hide
questions (enableWhen in the browser), submits with required answers missing (the server's errors
are shown), fixes them, submits, and checks what the sink received. Screenshots go to
$ANAKINRA_TEST_ARTIFACTS (else the test's tmp_path); they are never committed.

Without Chromium the test is skipped, unless ANAKINRA_REQUIRE_BROWSER=1 (CI), when it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from cds_service.app import create_app
from cds_service.config import demo_settings
from cds_service.forms.links import FormLinkContext, form_url
from cds_service.forms.response_builder import information_origin
from cds_service.web.documentation_form import EXTENSION_KEY
from tests.conftest import PINNED_NOW, pinned_clock
from tests.documentation.charts import statement_gaps_request
from tests.forms.sample_form import ORDER, PATIENT, PRACTITIONER, RXNORM, SUPPLY, package
from tests.integration.conftest import LiveServer
from tests.integration.test_documentation_loop import DeferredApp, first_sign, sign, signed_again

pytestmark = pytest.mark.browser

CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "Chromium is not installed (apt-get install -y chromium chromium-driver)"
    if not CHROMEDRIVER.exists():
        return f"{CHROMEDRIVER} is missing (apt-get install -y chromium-driver)"
    return None


@pytest.fixture
def browser(tmp_path):
    missing = _browser_missing()
    if missing:
        if os.environ.get("ANAKINRA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required (ANAKINRA_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1100,1600",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    options.binary_location = binary
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def artefacts(tmp_path) -> Path:
    root = os.environ.get("ANAKINRA_TEST_ARTIFACTS")
    path = Path(root) / "documentation-form" if root else tmp_path / "artefacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_prescriber_completes_the_form_in_chromium(settings, browser, artefacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    stored: list[dict] = []

    def source(link):
        if link.context_id != "caid-123":
            raise LookupError(link.context_id)
        return package()

    app = create_app(settings, clock=pinned_clock, documentation_form=(source, lambda link, qr: stored.append(qr)))
    token = app.extensions[EXTENSION_KEY].links.issue(
        FormLinkContext("caid-123", ORDER, PATIENT, PRACTITIONER), PINNED_NOW
    )
    wait = WebDriverWait(browser, 10)

    def item(link_id):
        return browser.find_element(By.CSS_SELECTOR, f'[data-link-id="{link_id}"]')

    def option(link_id, key):
        return browser.find_element(By.CSS_SELECTOR, f'input[name="a:{link_id}"][value="{key}"]')

    def set_value(link_id, value):
        field = browser.find_element(By.NAME, f"a:{link_id}")
        browser.execute_script(
            "arguments[0].value = arguments[1];arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            field,
            value,
        )

    with LiveServer(app) as server:
        browser.get(form_url(server.url, token))
        wait.until(EC.presence_of_element_located((By.ID, "documentation-form")))
        browser.save_screenshot(str(artefacts / "1-form-prefilled.png"))

        # Pre-filled answers are shown as such, with their source record
        assert option("on-anakinra", "true").is_selected()
        assert option("supply", f"coding:{SUPPLY}|plan-pharmacy").is_selected()
        assert option("tried", f"coding:{RXNORM}|327361").is_selected()
        note = item("on-anakinra").find_element(By.CLASS_NAME, "prefill").text
        assert "Pre-filled from the plan's records" in note and "MedicationDispense/md-1" in note
        assert "70.5" in item("weight").text

        # enableWhen in the browser: supply = samples hides at-risk; back to the plan's pharmacy shows it
        assert item("at-risk").is_displayed()
        option("supply", f"coding:{SUPPLY}|samples").click()
        wait.until(EC.invisibility_of_element(item("at-risk")))
        option("supply", f"coding:{SUPPLY}|plan-pharmacy").click()
        wait.until(EC.visibility_of(item("at-risk")))
        # a display item shows when weeks < 12; unticking every product hides the TNF date, ticking one shows it
        assert not item("long-trial").is_displayed()
        browser.find_element(By.NAME, "a:weeks").send_keys("8")
        wait.until(EC.visibility_of(item("long-trial")))
        option("tried", f"coding:{RXNORM}|327361").click()
        wait.until(EC.invisibility_of_element(item("tnf-stopped")))
        assert not item("weeks").is_displayed()
        option("tried", f"coding:{RXNORM}|214555").click()
        wait.until(EC.visibility_of(item("tnf-stopped")))

        # Submit with required answers missing: the server's errors are shown beside the fields
        browser.find_element(By.ID, "submit-documentation").click()
        summary = wait.until(EC.visibility_of_element_located((By.ID, "error-summary")))
        browser.save_screenshot(str(artefacts / "2-form-errors.png"))
        assert "Would the member be at risk if the therapy were changed?: Answer this question." in summary.text
        assert "Planned start date: Answer this question." in summary.text
        assert "Date the last TNF inhibitor was stopped: Answer this question." in summary.text
        assert "Answer this question." in item("start").text
        assert option("tried", f"coding:{RXNORM}|214555").is_selected()  # entered answers kept
        assert browser.find_element(By.NAME, "a:weeks").get_attribute("value") == "8"
        assert stored == []

        # Fix and send
        option("at-risk", "true").click()
        set_value("start", "2026-03-10")
        set_value("tnf-stopped", "2025-12-01")
        browser.find_element(By.ID, "submit-documentation").click()
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Documentation received"))
        browser.save_screenshot(str(artefacts / "3-done.png"))
        assert "Sign the order again" in browser.find_element(By.TAG_NAME, "main").text

    (qr,) = stored
    QuestionnaireResponse.model_validate(qr)
    assert qr["status"] == "completed" and qr["subject"] == {"reference": PATIENT}
    assert qr["author"] == {"reference": PRACTITIONER}
    answers = {}

    def walk(items):
        for it in items or ():
            if "answer" in it:
                answers[it["linkId"]] = it["answer"]
            walk(it.get("item"))

    walk(qr.get("item"))
    assert information_origin(answers["on-anakinra"][0]) == "auto-server"
    assert information_origin(answers["supply"][0]) == "auto-server"  # changed and changed back
    assert information_origin(answers["at-risk"][0]) == "manual"
    assert [a["valueCoding"]["code"] for a in answers["tried"]] == ["214555"]
    assert information_origin(answers["tried"][0]) == "override"
    assert answers["start"][0]["valueDate"] == "2026-03-10"
    assert answers["weeks"][0]["valueInteger"] == 8
    assert "long-trial" not in answers  # display items carry no answer


def test_prescriber_completes_the_generated_questionnaire_in_chromium(tmp_path, browser, artefacts):
    """The real questionnaire (generated from the policy data) for the documentation-loop chart: order-sign over
    HTTP, the card's link opened in Chromium, the open statements answered (enableWhen showing the follow-up
    questions), sent, and the next order-sign covered."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    deferred = DeferredApp()
    with LiveServer(deferred) as server:
        settings = demo_settings().with_overrides(
            var_dir=str(tmp_path / "var"), auth_enabled=False, external_base_url=server.url, fhir_allow=()
        )
        deferred.app = create_app(settings, clock=pinned_clock)
        req = statement_gaps_request()
        body, info, link = first_sign(server.url, req)
        wait = WebDriverWait(browser, 10)

        def item(link_id):
            return browser.find_element(By.CSS_SELECTOR, f'[data-link-id="{link_id}"]')

        def yes(link_id):
            return browser.find_element(By.CSS_SELECTOR, f'input[name="a:{link_id}"][value="true"]')

        browser.get(link)
        wait.until(EC.presence_of_element_located((By.ID, "documentation-form")))
        browser.save_screenshot(str(artefacts / "generated-1-prefilled.png"))
        assert "Pre-filled" in item("indication").text and "Pre-filled" in item("pathway").text
        assert item("continuing.treated").is_displayed() and item("specialist.consulted").is_displayed()
        # enableWhen: the follow-up questions show once treatment in the past 90 days is answered yes
        assert not item("continuing.not-samples").is_displayed()
        yes("continuing.treated").click()
        wait.until(EC.visibility_of(item("continuing.not-samples")))
        yes("continuing.not-samples").click()
        wait.until(EC.visibility_of(item("continuing.at-risk")))
        yes("continuing.at-risk").click()
        yes("specialist.consulted").click()
        browser.save_screenshot(str(artefacts / "generated-2-answered.png"))
        browser.find_element(By.ID, "submit-documentation").click()
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Documentation received"))
        browser.save_screenshot(str(artefacts / "generated-3-done.png"))

        body, info = sign(server.url, signed_again(req, body))
        assert info["covered"] == ["covered"] and info["pa-needed"] == ["satisfied"]
