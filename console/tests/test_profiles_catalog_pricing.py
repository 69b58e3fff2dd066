"""The business profiles, catalog and pricing pages in a real browser: pinning,
reordering with the keyboard and unpinning offers (the API's pin order after
each step), the reason an offer cannot be pinned, the description's
2,500-character limit refused at the field, creating, publishing and
unpublishing a profile, and the price lists, preview, diff and an offer's
history chart. Each test leaves the demo as it found it (one server per class)."""
import unittest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from harness import ConsoleCase, DEMO_ADMIN, DEMO_PASSWORD, WAIT


class ProfilesCatalogPricing(ConsoleCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.server.sign_in(DEMO_ADMIN, DEMO_PASSWORD)

    # ---- the API, as the test reads it ---------------------------------------------
    def api(self, path):
        status, body = self.server.call("GET", path, token=self.token)
        self.assertEqual(status, 200, body)
        return body

    def pins(self):
        catalog = self.api(f"/v1/partners/{self.server.partner}/catalog")
        return [p["offer_id"] for p in sorted(catalog["pinned"], key=lambda p: p["rank"])]

    def business_profile(self, region):
        profile = self.api(f"/v1/partners/{self.server.partner}/profile")
        return next((p for p in profile["business_profiles"] if p["region"] == region), None)

    def until(self, predicate, message):
        WebDriverWait(self.driver, WAIT).until(lambda d: predicate(), message)

    def press(self, css, key):
        """Focus the element and press a key on it, as a keyboard user does."""
        el = self.wait(css)
        self.driver.execute_script("arguments[0].focus();", el)
        ActionChains(self.driver).send_keys(key).perform()

    def focused_offer(self):
        return self.driver.execute_script(
            "const li = document.activeElement && document.activeElement.closest('li[data-offer]');"
            "return li ? [li.dataset.offer, document.activeElement.dataset.move || ''] : null;")

    # ---- catalog -------------------------------------------------------------------------
    def test_pin_reorder_with_the_keyboard_and_unpin(self):
        self.assertEqual(self.pins(), ["azure-plan", "dynamics-365-sb"])
        self.sign_in_admin()
        self.open("catalog")
        self.wait('#pins li[data-offer="dynamics-365-sb"]')
        # Pin the third orderable offer: it goes to the end.
        self.click('button[data-pin="azure-plan-gov"]')
        self.wait('#pins li[data-offer="azure-plan-gov"]')
        self.until(lambda: self.pins() == ["azure-plan", "dynamics-365-sb", "azure-plan-gov"], "pinned at the end")
        self.wait_text("#catalog-status", "pinned at position 3")
        # Move it up with Enter: the API's order follows, focus stays on it.
        self.press('#pins li[data-offer="azure-plan-gov"] button[data-move="up"]', Keys.ENTER)
        self.until(lambda: self.pins() == ["azure-plan", "azure-plan-gov", "dynamics-365-sb"], "moved up once")
        self.wait_text("#catalog-status", "position 2 of 3")
        self.assertEqual(self.focused_offer(), ["azure-plan-gov", "up"])
        # Again with Space, from where the focus is: now first, so its Move up is
        # disabled and the focus is on its Move down.
        ActionChains(self.driver).send_keys(Keys.SPACE).perform()
        self.until(lambda: self.pins() == ["azure-plan-gov", "azure-plan", "dynamics-365-sb"], "moved up twice")
        self.wait_text("#catalog-status", "position 1 of 3")
        self.until(lambda: self.focused_offer() == ["azure-plan-gov", "down"], "focus on the moved offer")
        self.assertEqual(self.find('#pins li[data-offer="azure-plan-gov"] button[data-move="up"]').get_attribute("disabled"),
                         "true")
        # Accessible names say which offer a button moves.
        self.assertEqual(self.find('#pins li[data-offer="azure-plan"] button[data-move="down"]').get_attribute("aria-label"),
                         "Move down: Azure plan")
        # And down again with the keyboard.
        self.press('#pins li[data-offer="azure-plan-gov"] button[data-move="down"]', Keys.ENTER)
        self.until(lambda: self.pins() == ["azure-plan", "azure-plan-gov", "dynamics-365-sb"], "moved down")
        self.screenshot("catalog")
        self.check_accessibility("catalog")
        # Unpin it: gone from the list and from the API.
        self.click('button[data-unpin="azure-plan-gov"]')
        self.wait_gone('#pins li[data-offer="azure-plan-gov"]')
        self.until(lambda: self.pins() == ["azure-plan", "dynamics-365-sb"], "unpinned")
        self.wait('button[data-pin="azure-plan-gov"]')
        self.wait_text("#catalog-status", "unpinned")

    def test_an_offer_that_cannot_be_pinned_shows_why(self):
        self.allow_http_errors(422, 404)
        self.sign_in_admin()
        self.open("catalog")
        self.wait('#pins li[data-offer="azure-plan"]')
        # m365-e3 is in the catalog but no list in effect now lets it be ordered.
        self.fill('#pin-by-id [data-field="offer_id"]', "m365-e3")
        self.click('#pin-by-id button[type="submit"]')
        message = self.field_error("offer_id", "#pin-by-id")
        self.assertIn("pinned_offer_must_be_orderable", message)
        self.assertIn("m365-e3", message)
        # An offer that does not exist.
        self.fill('#pin-by-id [data-field="offer_id"]', "no-such-offer")
        self.click('#pin-by-id button[type="submit"]')
        self.until(lambda: "not in the catalog" in self.field_error("offer_id", "#pin-by-id"), "not found")
        self.assertEqual(self.pins(), ["azure-plan", "dynamics-365-sb"])

    def test_five_pins_at_most_the_sixth_is_refused_with_the_apis_reason(self):
        self.allow_http_errors(422)
        operator = self.server.operator_token
        # The operator publishes four more orderable offers (a list of this month
        # in euros for them: the dollar list of the month is the demo's).
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc)
        extra = [f"extra-offer-{i}" for i in range(1, 5)]
        for offer_id in extra:
            status, reply = self.server.command(operator, {"type": "PublishOffer", "offer": {
                "offer_id": offer_id, "display_name": f"Extra offer {offer_id[-1]}", "segment": "enterprise",
                "license_agreement_type": "corporate", "purchase_unit": "1 Month",
                "secondary_license_type": "non_specific", "base_offer_ids": [], "end_customer_type": "corporate",
                "billing_model": "usage_based"}})
            self.assertEqual(status, 200, reply)
        first = now.strftime("%Y-%m-01")
        nxt = (now.replace(day=1) + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        rows = [{"change_code": "ADD", "valid_from": first, "valid_to": nxt.strftime("%Y-%m-%dT23:59:59Z"),
                 "offer_display_name": f"Extra offer {o[-1]}", "offer_id": o, "license_agreement_type": "corporate",
                 "purchase_unit": "1 Month", "secondary_license_type": "non_specific",
                 "end_customer_type": "corporate", "list_price_micros": 10000000, "erp_price_micros": 12000000}
                for o in extra]
        status, reply = self.server.command(operator, {"type": "PublishPriceList", "price_list": {
            "market": "US", "currency": "EUR", "year": now.year, "month": now.month,
            "billing_model": "usage_based", "rows": rows}})
        self.assertEqual(status, 200, reply)
        try:
            for o in extra[:3]:
                status, reply = self.server.command(self.token, {"type": "PinOffer", "partner_id": self.server.partner,
                                                                 "offer_id": o})
                self.assertEqual(status, 200, reply)
            self.sign_in_admin()
            self.open("catalog")
            self.wait('#pins li[data-offer="extra-offer-3"]')
            # Five pinned: the page says so before anyone tries.
            self.assertIn("5 offers are pinned", self.wait("#pins-full").text)
            self.click('button[data-pin="extra-offer-4"]')
            error = self.wait("#pin-error-extra-offer-4")
            self.assertIn("at_most_5_pinned_offers", error.text)
            self.assertEqual(len(self.pins()), 5)
        finally:
            for o in extra[:3]:
                self.server.command(self.token, {"type": "UnpinOffer", "partner_id": self.server.partner, "offer_id": o})
        self.assertEqual(self.pins(), ["azure-plan", "dynamics-365-sb"])

    # ---- business profiles -------------------------------------------------------------
    def test_a_description_over_2500_characters_is_refused_at_the_field(self):
        self.allow_http_errors(400)
        before = self.business_profile("na")
        self.sign_in_admin()
        self.open("profiles")
        textarea = self.field("details.description", "#profile-na")
        counter = self.find("#profile-na .counter")
        self.assertEqual(counter.get_attribute("aria-live"), "polite")
        self.assertIn(f"{len(before['details']['description'])} of 2,500 characters", counter.text)
        # 2,495 characters set at once, then typed up to 2,501 (é: one code point, two bytes).
        self.driver.execute_script(
            "arguments[0].value = 'é'.repeat(2495); arguments[0].dispatchEvent(new Event('input'));", textarea)
        self.assertNotIn("over", counter.get_attribute("class"))
        textarea.send_keys(Keys.END, "éééééé")
        self.wait("#profile-na .counter.over")
        self.assertIn("2,501 of 2,500 characters: 1 over the limit", counter.text)
        self.click('#profile-na form.profile-form button[type="submit"]')
        self.assertIn("at most 2500 characters", self.field_error("details.description", "#profile-na"))
        self.assertEqual(textarea.get_attribute("aria-invalid"), "true")
        self.assertEqual(self.business_profile("na")["details"], before["details"])
        self.screenshot("profiles-description-over")
        # Six industries: refused beside that field too.
        self.driver.execute_script(
            "arguments[0].value = 'short'; arguments[0].dispatchEvent(new Event('input'));", textarea)
        self.wait_gone("#profile-na .counter.over")
        self.fill('#profile-na [data-field="details.industry_focus"]', "A\nB\nC\nD\nE\nF")
        self.click('#profile-na form.profile-form button[type="submit"]')
        self.assertIn("at most 5", self.field_error("details.industry_focus", "#profile-na"))
        self.assertEqual(self.business_profile("na")["details"], before["details"])

    def test_create_add_a_location_publish_and_unpublish_a_profile(self):
        self.assertTrue(self.business_profile("na")["published"])
        self.assertIsNone(self.business_profile("emea"))
        self.sign_in_admin()
        self.open("profiles")
        self.wait("#unpublish-na")
        self.assertIn("Rules: the logo is a GIF, JPG or PNG image at most 300 pixels wide", self.find("#profile-rules").text)
        self.screenshot("profiles")
        self.check_accessibility("profiles")
        # Unpublish and publish the demo's profile.
        self.click("#unpublish-na")
        self.wait("#publish-na")
        self.until(lambda: self.business_profile("na")["published"] is False, "unpublished")
        self.click("#publish-na")
        self.wait("#unpublish-na")
        self.until(lambda: self.business_profile("na")["published"] is True, "published")
        # Create the emea profile, add a location, publish it, unpublish it.
        self.fill('#profile-emea [data-field="details.description"]', "We resell cloud in Europe.")
        self.fill('#profile-emea [data-field="details.industry_focus"]', "Retail\nManufacturing")
        self.find('#profile-emea select[data-field="details.logo.format"] option[value="png"]').click()
        self.fill('#profile-emea [data-field="details.logo.width_px"]', "200")
        self.fill('#profile-emea [data-field="details.logo.image_ref"]', "blob:emea-logo")
        self.click('#profile-emea form.profile-form button[type="submit"]')
        self.wait("#publish-emea")
        created = self.business_profile("emea")
        self.assertEqual(created["details"]["description"], "We resell cloud in Europe.")
        self.assertEqual(created["details"]["industry_focus"], ["Retail", "Manufacturing"])
        self.assertEqual(created["details"]["logo"], {"format": "png", "width_px": 200, "image_ref": "blob:emea-logo"})
        self.assertFalse(created["published"])
        scope = "#profile-emea form.location-form"
        self.fill(f'{scope} [data-field="address.line1"]', "1 Canal Street")
        self.fill(f'{scope} [data-field="address.city"]', "Dublin")
        self.fill(f'{scope} [data-field="address.country"]', "IE")
        self.click(f'{scope} button[type="submit"]')
        self.wait_text("#profile-emea ul.locations", "Dublin")
        self.assertEqual([l["address"]["city"] for l in self.business_profile("emea")["locations"]], ["Dublin"])
        self.click("#publish-emea")
        self.wait("#unpublish-emea")
        self.until(lambda: self.business_profile("emea")["published"] is True, "emea published")
        self.click("#unpublish-emea")
        self.wait("#publish-emea")
        self.until(lambda: self.business_profile("emea")["published"] is False, "emea unpublished")
        # Remove the location again.
        self.click('#profile-emea ul.locations button')
        self.wait_text("#profile-emea", "No location yet.")
        self.assertEqual(self.business_profile("emea")["locations"], [])

    # ---- pricing -------------------------------------------------------------------------
    def test_pricing_lists_preview_diff_and_history_chart(self):
        history = self.api("/v1/pricing/US/USD/offers/m365-e3/history")
        preview = (history[0]["list"]["year"], history[0]["list"]["month"])
        preview_month = "%04d-%02d" % preview
        later = (preview[0] + preview[1] // 12, preview[1] % 12 + 1)
        later_month = "%04d-%02d" % later
        current = self.api("/v1/pricing/US/USD")
        current_month = "%04d-%02d" % (current[0]["list"]["year"], current[0]["list"]["month"])
        # The operator publishes the month after the preview: m365-e3 costs more.
        status, reply = self.server.command(self.server.operator_token, {"type": "PublishPriceList", "price_list": {
            "market": "US", "currency": "USD", "year": later[0], "month": later[1], "billing_model": "license_based",
            "rows": [{"change_code": "CHG", "valid_from": later_month + "-01", "valid_to": later_month + "-28T23:59:59Z",
                      "offer_display_name": "Microsoft 365 E3", "offer_id": "m365-e3",
                      "license_agreement_type": "corporate", "purchase_unit": "1 Month",
                      "secondary_license_type": "non_specific", "end_customer_type": "corporate",
                      "list_price_micros": 40500000, "erp_price_micros": 48600000}]}})
        self.assertEqual(status, 200, reply)
        self.sign_in_admin()
        self.open("pricing")
        row = self.wait('#pricing-current tr[data-offer="azure-plan"]')
        self.assertIn("$25.00", row.text)
        self.assertIn("$30.00", row.text)
        self.assertTrue(self.find_all('#pricing-current tr[data-offer="dynamics-365-sb"]'))
        # Search over the list: by name.
        self.fill('[data-field="search"]', "dynamics")
        self.wait_gone('#pricing-current tr[data-offer="azure-plan"]')
        self.assertTrue(self.find('#pricing-current tr[data-offer="dynamics-365-sb"]').is_displayed())
        self.wait_text("#search-count", "1 offers match")
        self.find('[data-field="search"]').send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
        self.wait('#pricing-current tr[data-offer="azure-plan"]')
        # One month of history: a chart still (its one point).
        self.click('button[data-history="azure-plan"]')
        self.wait_text("#history-chart title", "Prices of Azure plan")
        self.assertIn("$25.00", self.find("#history-table").text)
        # The month before the preview: the preview lists m365-e3.
        prev = self.driver.execute_script(
            "const [y, m] = arguments[0].split('-').map(Number); const d = new Date(Date.UTC(y, m - 2, 1));"
            "return d.toISOString().slice(0, 7);", preview_month)
        self.fill('#pricing-pick [data-field="month"]', prev)
        self.click('#pricing-pick button[type="submit"]')
        row = self.wait('#pricing-preview tr[data-offer="m365-e3"]')
        self.assertIn("$38.00", row.text)
        # Its history: two months, a line (SVG path) and the same data as a table.
        self.click('#pricing-preview button[data-history="m365-e3"]')
        chart = self.wait("#history-chart")
        self.assertEqual(chart.tag_name, "svg")
        self.assertEqual(chart.get_attribute("role"), "img")
        self.assertIn("Prices of Microsoft 365 E3", self.find("#history-chart title").get_attribute("textContent"))
        d = self.find('#history-chart path.line.list').get_attribute("d")
        self.assertTrue(d.startswith("M") and " L" in d, d)
        labels = [t.text for t in self.find_all("#history-chart text")]
        self.assertTrue(any(label.startswith("$") for label in labels), labels)
        table = self.find("#history-table").text
        self.assertIn("$38.00", table)
        self.assertIn("$40.50", table)
        self.assertEqual(len(self.find_all("#history-table tbody tr")), 2)
        self.screenshot("pricing")
        self.check_accessibility("pricing")
        # The diff of the current month and the preview's month.
        self.fill('#diff-form [data-field="from_month"]', current_month)
        self.fill('#diff-form [data-field="to_month"]', preview_month)
        self.click('#diff-form button[type="submit"]')
        added = self.wait('#diff-result tr[data-kind="added"][data-offer="m365-e3"]')
        self.assertIn("$38.00", added.text)
        self.wait('#diff-result tr[data-kind="removed"][data-offer="azure-plan"]')
        # And of the preview's month and the next: m365-e3 changed price.
        self.fill('#diff-form [data-field="from_month"]', preview_month)
        self.fill('#diff-form [data-field="to_month"]', later_month)
        self.click('#diff-form button[type="submit"]')
        changed = self.wait('#diff-result tr[data-kind="changed"][data-offer="m365-e3"]')
        self.assertIn("$38.00", changed.find_element(By.CSS_SELECTOR, ".diff-before").text)
        self.assertIn("$40.50", changed.find_element(By.CSS_SELECTOR, ".diff-after").text)
        self.screenshot("pricing-diff")
        # A bad month is refused at its field, asking nothing of the API.
        self.fill('#diff-form [data-field="to_month"]', "2026-13")
        self.click('#diff-form button[type="submit"]')
        self.assertIn("YYYY-MM", self.field_error("to_month", "#diff-form"))

    def test_pricing_in_japanese(self):
        self.sign_in_admin()
        self.driver.find_element(By.CSS_SELECTOR, "#language option[value='ja']").click()
        self.wait_text("#nav-pricing", "価格")
        try:
            self.open("pricing")
            self.wait_text("#page-pricing h1", "価格")
            row = self.wait('#pricing-current tr[data-offer="azure-plan"]')
            self.assertIn("$25.00", row.text)
            self.assertIn("年", self.find("#pricing-current h2").text)
            self.screenshot("pricing-ja")
            self.check_accessibility("pricing (ja)")
            self.open("catalog")
            self.wait_text("#page-catalog", "ピン留めされたオファー")
            self.assertEqual(self.find('#pins li[data-offer="azure-plan"] button[data-move="down"]').get_attribute(
                "aria-label"), "下へ移動: Azure plan")
            self.open("profiles")
            self.wait_text("#profile-na .counter", "/ 2,500 文字")
            self.screenshot("profiles-ja")
        finally:
            self.driver.find_element(By.CSS_SELECTOR, "#language option[value='en']").click()
            self.wait_text("#nav-pricing", "Pricing")


if __name__ == "__main__":
    unittest.main()
