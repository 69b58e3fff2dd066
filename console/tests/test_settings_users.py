"""The account settings and users pages in a real browser, against a real demo
server: each test acts through the page and then asks the API what happened."""
import datetime
import unittest

from selenium.webdriver.support.ui import WebDriverWait

from harness import ConsoleCase, DEMO_ADMIN, DEMO_PASSWORD, WAIT


def day(offset):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=offset)).isoformat()


class SettingsAndUsers(ConsoleCase):

    # ---- helpers -----------------------------------------------------------------------
    def admin_token(self):
        return self.server.sign_in(DEMO_ADMIN, DEMO_PASSWORD)

    def profile(self):
        status, body = self.server.call("GET", f"/v1/partners/{self.server.partner}/profile", token=self.admin_token())
        self.assertEqual(status, 200, body)
        return body

    def users(self):
        status, body = self.server.call("GET", f"/v1/partners/{self.server.partner}/users", token=self.admin_token())
        self.assertEqual(status, 200, body)
        return {u["email"]: u for u in body}

    def create_user(self, email, roles, first="Test", last="User"):
        """A user made through the API, with their own password (signed in once)."""
        status, reply = self.server.command(self.admin_token(), {
            "type": "CreateUser", "partner_id": self.server.partner,
            "profile": {"first_name": first, "last_name": last, "email": email, "phone": ""}, "roles": roles})
        self.assertEqual(status, 200, reply)
        temporary = reply["result"]["temporary_password"]
        token = self.server.sign_in(email, temporary)
        status, _ = self.server.call("POST", "/v1/me/password", {"old": temporary, "new": "a-good-password-2026"}, token)
        self.assertEqual(status, 200)
        return reply["result"]["user_id"], "a-good-password-2026"

    def set_value(self, css, value):
        """A date input's value (typing into one depends on the browser's locale)."""
        el = self.wait(css)
        self.driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            el, value)
        return el

    def session_storage_text(self):
        return self.driver.execute_script(
            "return Object.keys(sessionStorage).map(k => k + '=' + sessionStorage.getItem(k)).join('\\n');")

    def manage(self, email):
        self.click(f'#users-table tr[data-email="{email}"] button[data-action="manage"]')
        self.wait("#user-panel")

    # ---- settings ------------------------------------------------------------------------
    def test_settings_shows_the_partner_and_an_api_error_beside_its_field(self):
        self.sign_in_admin()
        self.open("settings")
        self.wait_text("#partner-name", "Contoso Cloud Services")
        # Every form of a Global admin (who holds every permission they need).
        for part in ("#legal-profile form", "#support-profile form", "#billing-profile form",
                     "#organization-profile form", "#tax-exemptions form", "#locations form", "#agreement form"):
            self.assertTrue(self.find_all(part), part)
        self.allow_http_errors(400)
        self.fill('#support-profile [data-field="support.email"]', "bad")
        self.click('#support-profile button[type="submit"]')
        self.assertIn("email", self.field_error("support.email", "#support-profile"))
        self.assertEqual(self.profile()["support"]["email"], "support@contoso.example")  # nothing written
        self.fill('#support-profile [data-field="support.email"]', "help@contoso.example")
        self.click('#support-profile button[type="submit"]')
        self.wait_text("#support-profile .form-status", "Saved.")
        self.assertEqual(self.profile()["support"]["email"], "help@contoso.example")
        self.assertEqual(self.find_all("#support-profile .field-error:not([hidden])"), [])
        self.screenshot("settings")
        self.check_accessibility("settings")

    def test_a_tax_exemption_is_filed_and_revoked_and_its_state_on_a_date_shown(self):
        self.sign_in_admin()
        self.open("settings")
        self.wait("#tax-exemptions form")
        scope = "#tax-exemptions"
        self.fill(f'{scope} [data-field="jurisdiction"]', "OR")
        self.fill(f'{scope} [data-field="certificate_ref"]', "OR-UI-2027")
        self.set_value(f'{scope} [data-field="valid_from"]', day(90))
        self.set_value(f'{scope} [data-field="expires_on"]', day(400))
        self.click('#file-exemption button[type="submit"]')
        self.wait_text("#exemptions-table", "OR-UI-2027")
        filed = [e for e in self.profile()["tax_exemptions"] if e["certificate_ref"] == "OR-UI-2027"]
        self.assertEqual(len(filed), 1)
        ex = filed[0]
        self.assertEqual((ex["jurisdiction"], ex["valid_from"][:10], ex["expires_on"][:10]), ("OR", day(90), day(400)))
        self.assertEqual(ex["state"], "not_yet_valid")
        row = f'#exemptions-table tr[data-exemption="{ex["exemption_id"]}"]'
        self.wait_text(row, "Not yet valid")

        # The state on a date: the server's answer for that day.
        self.set_value('#tax-exemptions [data-field="date"]', day(100))
        self.click('#on-date-form button[type="submit"]')
        self.wait(f'#exemptions-on-date li[data-exemption="{ex["exemption_id"]}"][data-state="active"]')
        self.assertIn("OR OR-UI-2027", self.find("#exemptions-on-date .on-date-summary").text)
        self.set_value('#tax-exemptions [data-field="date"]', day(-1))
        self.click('#on-date-form button[type="submit"]')
        self.wait(f'#exemptions-on-date li[data-exemption="{ex["exemption_id"]}"][data-state="not_yet_valid"]')
        self.wait_text("#exemptions-on-date .on-date-summary", "No exemption was active")

        # Renew: a new certificate replaces it in one step (the old one is revoked).
        self.click(f'{row} button[data-action="renew"]')
        self.fill('#exemption-step [data-field="certificate_ref"]', "OR-UI-2028")
        self.set_value('#exemption-step [data-field="valid_from"]', day(90))
        self.set_value('#exemption-step [data-field="expires_on"]', day(500))
        self.click('#exemption-step button[type="submit"]')
        self.wait_text("#exemptions-table", "OR-UI-2028")
        self.wait_text(row, "Revoked")
        by_ref = {e["certificate_ref"]: e for e in self.profile()["tax_exemptions"]}
        self.assertTrue(by_ref["OR-UI-2027"]["revoked"])
        self.assertIn("renewed by exemption", by_ref["OR-UI-2027"]["revoked_reason"])
        self.assertFalse(by_ref["OR-UI-2028"]["revoked"])
        self.assertEqual(by_ref["OR-UI-2028"]["jurisdiction"], "OR")
        ex = by_ref["OR-UI-2028"]
        row = f'#exemptions-table tr[data-exemption="{ex["exemption_id"]}"]'

        # Revoke, with a reason, through the confirm step.
        self.click(f'{row} button[data-action="revoke"]')
        self.fill('#exemption-step [data-field="reason"]', "replaced by a multi-state certificate")
        self.click('#exemption-step button[type="submit"]')
        self.wait_text(row, "Revoked")
        ex = next(e for e in self.profile()["tax_exemptions"] if e["exemption_id"] == ex["exemption_id"])
        self.assertTrue(ex["revoked"])
        self.assertEqual(ex["revoked_reason"], "replaced by a multi-state certificate")
        self.set_value('#tax-exemptions [data-field="date"]', day(100))
        self.click('#on-date-form button[type="submit"]')
        self.wait(f'#exemptions-on-date li[data-exemption="{ex["exemption_id"]}"][data-state="revoked"]')
        self.screenshot("settings-exemptions")

    def test_locations_are_added_and_removed_and_the_agreement_accepted(self):
        self.sign_in_admin()
        self.open("settings")
        self.wait("#locations form")
        self.fill('#locations [data-field="address.line1"]', "200 Harbor Way")
        self.fill('#locations [data-field="address.city"]', "Seattle")
        self.fill('#locations [data-field="address.state"]', "WA")
        self.fill('#locations [data-field="mpn_id"]', "8800123")
        self.click('#locations form button[type="submit"]')
        self.wait_text("#locations-table", "200 Harbor Way")
        location = next(l for l in self.profile()["locations"] if l["mpn_id"] == "8800123")
        self.assertEqual((location["address"]["city"], location["address"]["country"]), ("Seattle", "US"))
        self.click(f'#locations-table tr[data-location="{location["location_id"]}"] button')
        self.click('#location-step button[type="submit"]')
        self.wait_gone(f'#locations-table tr[data-location="{location["location_id"]}"]')
        self.assertFalse([l for l in self.profile()["locations"] if l["mpn_id"] == "8800123"])

        self.fill('#agreement [data-field="agreement_version"]', "2026-12")
        self.click('#agreement button[type="submit"]')
        self.wait_text("#agreement-state", "Version 2026-12 accepted")
        self.assertEqual(self.profile()["selling"]["agreement_version"], "2026-12")

    def test_the_operator_reads_a_partners_settings_read_only(self):
        self.sign_in_token(self.server.operator_token)
        self.fill("#partner-choice", self.server.partner)
        self.click('.partner-chooser button[type="submit"]')
        self.open("settings")
        self.wait_text("#partner-name", "Contoso Cloud Services")
        self.wait_text("#tax-exemptions", "WA-RESALE-2026")
        self.assertEqual(self.find_all("#page-settings form:not(#on-date-form)"), [])
        self.set_value('#tax-exemptions [data-field="date"]', day(1))
        self.click('#on-date-form button[type="submit"]')
        self.wait_text("#exemptions-on-date .on-date-summary", "WA WA-RESALE-2026")

    def test_a_sales_agent_reads_settings_without_forms(self):
        _, password = self.create_user("sam.sales@contoso.example", ["sales_agent"], "Sam", "Sales")
        self.sign_in_user("sam.sales@contoso.example", password)
        self.wait("#page-overview")
        self.assertFalse(self.find_all("#nav-users"))
        self.open("settings")
        self.wait_text("#partner-name", "Contoso Cloud Services")
        self.assertEqual(self.find_all("#page-settings form"), [])
        self.wait_text("#withheld", "tax_exemptions")

    # ---- users ----------------------------------------------------------------------------
    def test_the_admin_creates_a_user_sees_the_password_once_and_assigns_roles(self):
        self.driver.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": self.server.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        self.sign_in_admin()
        self.open("users")
        self.wait("#users-table")
        scope = "#create-user"
        self.fill(f'{scope} [data-field="profile.first_name"]', "Katherine")
        self.fill(f'{scope} [data-field="profile.last_name"]', "Johnson")
        self.fill(f'{scope} [data-field="profile.email"]', "katherine@contoso.example")
        self.click(f'{scope} input[data-role="billing_admin"]')
        self.click(f'{scope} input[data-role="incentives_user"]')
        self.click(f'{scope} button[type="submit"]')
        password = self.wait("#temporary-password-box.secret #temporary-password").text.strip()
        self.assertGreaterEqual(len(password), 12)
        self.wait_text("#users-table", "katherine@contoso.example")
        # Shown in the page only: not in sessionStorage or localStorage.
        self.assertNotIn(password, self.session_storage_text())
        self.assertEqual(self.driver.execute_script("return localStorage.length"), 0)
        self.click("#copy-password")
        self.wait_text("#temporary-password-box", "Copied")
        self.assertEqual(self.driver.execute_script("return navigator.clipboard.readText()"), password)
        self.click("#close-password")
        self.wait_gone("#temporary-password-box")
        self.assertNotIn(password, self.driver.page_source)
        self.assertNotIn(password, self.session_storage_text())
        # The new user signs in with it.
        status, body = self.server.call("POST", "/v1/sessions", {"partner_id": self.server.partner,
                                                                 "email": "katherine@contoso.example",
                                                                 "password": password})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["must_change_password"] if "must_change_password" in body else True)
        self.assertEqual(sorted(self.users()["katherine@contoso.example"]["roles"]), ["billing_admin", "incentives_user"])

        # Roles, one per category: Admin changes, Agent gains one, Incentives loses its role.
        self.manage("katherine@contoso.example")
        self.click('#user-panel input[data-role="account_admin"]')
        self.click('#user-panel input[data-role="helpdesk_agent"]')
        self.click('#user-panel input[data-category="Incentives"][data-role=""]')
        self.click('#user-panel button[type="submit"]')
        self.wait_text("#user-panel-status", "Roles saved.")
        self.assertEqual(sorted(self.users()["katherine@contoso.example"]["roles"]), ["account_admin", "helpdesk_agent"])
        self.wait_text('#users-table tr[data-email="katherine@contoso.example"] .user-roles', "Helpdesk agent")

        # Reset password: a new temporary password, once, in the same box.
        self.click("#reset-password")
        self.click('#user-step button[type="submit"]')
        second = self.wait("#temporary-password").text.strip()
        self.assertNotEqual(second, password)
        status, _ = self.server.call("POST", "/v1/sessions", {"partner_id": self.server.partner,
                                                              "email": "katherine@contoso.example", "password": second})
        self.assertEqual(status, 200)
        # Another page, and back: the box is gone.
        self.open("overview")
        self.wait("#page-overview")
        self.open("users")
        self.wait("#users-table")
        self.assertEqual(self.find_all("#temporary-password"), [])
        self.assertNotIn(second, self.driver.page_source)
        self.assertNotIn(second, self.session_storage_text())

    def test_the_filters_narrow_the_directory(self):
        self.sign_in_admin()
        self.open("users")
        self.wait("#users-table")
        self.fill("#user-search", "grace")
        self.wait_text("#user-count", "Showing 1 of")
        self.assertEqual(len(self.find_all("#users-table tbody tr[data-user]")), 1)
        self.fill("#user-search", "")
        self.driver.find_element("css selector", '#user-role-filter option[value="sales_agent"]').click()
        WebDriverWait(self.driver, WAIT).until(
            lambda d: all("Sales agent" in r.text for r in d.find_elements("css selector", "#users-table tbody tr[data-user]")))
        self.assertTrue(self.find_all('#users-table tr[data-email="alan@contoso.example"]'))
        self.driver.find_element("css selector", '#user-role-filter option[value=""]').click()
        self.driver.find_element("css selector", '#user-status-filter option[value="purged"]').click()
        self.wait_text("#users-table", "No user matches.")

    def test_a_role_the_actor_cannot_grant_is_refused_with_the_apis_message(self):
        _, password = self.create_user("uma@contoso.example", ["user_management_admin"], "Uma", "Manager")
        self.sign_in_user("uma@contoso.example", password)
        self.wait("#page-overview")
        self.open("users")
        self.wait("#users-table")
        self.manage("edsger@contoso.example")
        # Offered, but marked: a User management admin cannot grant Global admin.
        label = self.find('#user-panel input[data-role="global_admin"]').find_element("xpath", "..")
        self.assertIn("you cannot grant this role", label.text)
        self.allow_http_errors(403)
        self.click('#user-panel input[data-role="global_admin"]')
        self.click('#user-panel button[type="submit"]')
        self.assertIn("missing permission: assign or remove role Global admin",
                      self.field_error("roles.0", "#user-panel"))
        self.assertEqual(sorted(self.users()["edsger@contoso.example"]["roles"]), ["admin_agent", "business_profile_admin"])

    def test_the_admin_deactivates_then_restores_a_user(self):
        user_id, password = self.create_user("dora@contoso.example", ["helpdesk_agent"], "Dora", "Deactivated")
        self.sign_in_admin()
        self.open("users")
        self.wait("#users-table")
        self.manage("dora@contoso.example")
        self.click("#deactivate-user")
        self.wait_text("#user-step", "restored within 30 days")
        self.click('#user-step button[type="submit"]')
        self.wait_text("#user-panel-state", "Deactivated")
        self.assertEqual(self.users()["dora@contoso.example"]["status"], "inactive")
        status, _ = self.server.call("POST", "/v1/sessions", {"partner_id": self.server.partner,
                                                              "email": "dora@contoso.example", "password": password})
        self.assertEqual(status, 401)
        self.assertIn("can be restored until", self.find("#restore-window").text)
        self.assertFalse(self.find_all("#purge-user"))  # not before the 30 days are over
        self.driver.execute_script("window.scrollTo(0, 0);")
        self.screenshot("users")
        self.check_accessibility("users")
        self.click("#restore-user")
        self.click('#user-step button[type="submit"]')
        self.wait_text("#user-panel-state", "Active")
        self.assertEqual(self.users()["dora@contoso.example"]["status"], "active")
        self.server.sign_in("dora@contoso.example", password)

    def test_the_pages_in_japanese(self):
        self.sign_in_admin()
        self.driver.find_element("css selector", "#language option[value='ja']").click()
        self.wait_text("#nav-users", "ユーザー")
        self.open("users")
        self.wait_text("#page-users h1", "ユーザー")
        self.wait_text("#create-user", "ロール (カテゴリごとに 1 つまで)")
        self.open("settings")
        self.wait_text("#page-settings h1", "アカウント設定")
        self.wait_text("#tax-exemptions", "免税")
        self.screenshot("settings-ja")
        self.driver.find_element("css selector", "#language option[value='en']").click()
        self.wait_text("#nav-users", "Users")


if __name__ == "__main__":
    unittest.main()
