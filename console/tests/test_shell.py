"""The console's shell in a real browser: sign-in (a partner user, the operator
and an auditor by token), the forced change of a temporary password, sign-out,
what a Sales agent does not see, the Japanese switch, the token's storage, and
values from the API rendered as text (XSS)."""
import unittest

from harness import ConsoleCase, DEMO_ADMIN, DEMO_PASSWORD

XSS = "<img src=x onerror=alert(1)>"


def enroll_body(name, admin_email):
    address = {"line1": "1 Main Street", "line2": "", "city": "Redmond", "state": "WA", "postal_code": "98052",
               "country": "US", "region": "West"}
    return {"type": "EnrollPartner",
            "admin": {"first_name": "Eve", "last_name": "Admin", "email": admin_email, "phone": ""},
            "partner_name": name, "mpn_id": "7654321",
            "legal": {"company_name": name, "address": address,
                      "primary_contact": {"first_name": "Pat", "last_name": "Legal", "email": "pat@fabrikam.example",
                                          "phone": ""},
                      "approver_email": "approver@fabrikam.example", "approver_address": address},
            "tenant_id": "7f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d12", "default_domain": "fabrikam.onmicrosoft.com",
            "language": "en", "culture": "en-us", "billing_currency": "USD"}


class Shell(ConsoleCase):

    def test_sign_in_page_is_accessible(self):
        self.sign_out_if_signed_in()
        self.screenshot("signin")
        self.check_accessibility("sign-in")

    def test_a_wrong_password_shows_the_apis_message_and_stays(self):
        self.allow_http_errors(401)
        self.sign_in_user(DEMO_ADMIN, "not-the-password")
        alert = self.wait("#page-signin .form-error")
        self.assertIn("wrong partner, email or password", alert.text)
        self.assertIsNone(self.driver.execute_script("return sessionStorage.getItem('acct.session')"))

    def test_the_admin_signs_in_sees_the_overview_and_signs_out(self):
        self.sign_in_admin()
        self.wait_text("#who", "Ada Lovelace")
        self.assertIn("Global admin", self.find("#page-overview").text)
        for page in ("overview", "settings", "users", "profiles", "catalog", "pricing", "audit"):
            self.assertTrue(self.find_all(f"#nav-{page}"), page)
        self.assertFalse(self.find_all("#nav-operator"))
        self.screenshot("overview")
        self.check_accessibility("overview")
        # The token is in sessionStorage only: never localStorage, never a cookie.
        self.assertIsNotNone(self.driver.execute_script("return sessionStorage.getItem('acct.session')"))
        self.assertEqual(self.driver.execute_script("return localStorage.length"), 0)
        self.assertEqual(self.driver.get_cookies(), [])
        token = self.driver.execute_script("return JSON.parse(sessionStorage.getItem('acct.session')).token")
        self.click("#sign-out")
        self.wait("#page-signin")
        self.assertIsNone(self.driver.execute_script("return sessionStorage.getItem('acct.session')"))
        # Signing out revoked the token at the server.
        status, _ = self.server.call("GET", "/v1/me", token=token)
        self.assertEqual(status, 401)

    def test_a_new_admin_must_change_the_temporary_password_first(self):
        status, reply = self.server.command(self.server.operator_token,
                                            enroll_body("Northwind Traders", "eve@northwind.example"))
        self.assertEqual(status, 200, reply)
        partner = reply["result"]["partner_id"]
        temporary = reply["result"]["temporary_password"]
        self.allow_http_errors(400)
        self.sign_in_user("eve@northwind.example", temporary, partner)
        self.wait("#page-password")
        self.screenshot("password-change")
        self.check_accessibility("password change")
        self.fill('[data-field="old"]', temporary)
        self.fill('[data-field="new"]', "short")
        self.fill('[data-field="confirm"]', "short")
        self.click('#page-password button[type="submit"]')
        # The API's refusal, beside the field it names.
        self.assertIn("12", self.field_error("new"))
        self.fill('[data-field="new"]', "a-long-enough-password")
        self.fill('[data-field="confirm"]', "a-different-password!")
        self.click('#page-password button[type="submit"]')
        self.assertIn("differ", self.field_error("confirm"))
        self.fill('[data-field="confirm"]', "a-long-enough-password")
        self.click('#page-password button[type="submit"]')
        self.wait("#page-overview")
        self.wait_text("#who", "Eve Admin")
        # The new password works; the temporary one is dead.
        self.server.sign_in("eve@northwind.example", "a-long-enough-password", partner)
        status, _ = self.server.call("POST", "/v1/sessions", {"partner_id": partner, "email": "eve@northwind.example",
                                                              "password": temporary})
        self.assertEqual(status, 401)

    def test_a_sales_agent_does_not_see_the_user_directory(self):
        admin = self.server.sign_in(DEMO_ADMIN, DEMO_PASSWORD)
        status, users = self.server.call("GET", f"/v1/partners/{self.server.partner}/users", token=admin)
        self.assertEqual(status, 200)
        alan = next(u for u in users if u["email"] == "alan@contoso.example")
        status, reply = self.server.command(admin, {"type": "ResetPassword", "partner_id": self.server.partner,
                                                    "user_id": alan["user_id"]})
        self.assertEqual(status, 200, reply)
        self.sign_in_user("alan@contoso.example", reply["result"]["temporary_password"])
        self.wait("#page-password")
        self.fill('[data-field="old"]', reply["result"]["temporary_password"])
        self.fill('[data-field="new"]', "alan-sells-a-lot-2026")
        self.fill('[data-field="confirm"]', "alan-sells-a-lot-2026")
        self.click('#page-password button[type="submit"]')
        self.wait("#page-overview")
        self.assertIn("Sales agent", self.find("#page-overview").text)
        self.assertFalse(self.find_all("#nav-users"))
        self.assertFalse(self.find_all("#nav-audit"))
        # Typed in by hand, the page says no, and asks the API for nothing.
        self.open("users")
        self.wait_text("main", "Your roles do not allow this page.")
        self.screenshot("sales-agent-users")

    def test_the_operator_and_the_demo_auditor_sign_in_with_their_tokens(self):
        self.sign_in_token(self.server.operator_token)
        self.wait_text("#who", "the operator")
        self.assertTrue(self.find_all("#nav-operator"))
        self.assertTrue(self.find_all("#partner-choice"))
        self.sign_in_token(self.server.auditor_token)
        self.wait_text("#who", "an auditor of " + self.server.partner)
        self.assertTrue(self.find_all("#nav-audit"))
        self.assertFalse(self.find_all("#nav-users"))
        self.assertFalse(self.find_all("#nav-operator"))

    def test_a_bad_token_is_refused_with_the_apis_message(self):
        self.allow_http_errors(401)
        self.sign_out_if_signed_in()
        self.click("#signin-mode-token")
        self.fill('[data-field="token"]', "acct_not-a-token")
        self.click('#page-signin button[type="submit"]')
        self.assertTrue(self.wait("#page-signin .form-error").text)
        self.assertIsNone(self.driver.execute_script("return sessionStorage.getItem('acct.session')"))

    def test_the_japanese_switch_translates_and_formats(self):
        self.sign_in_admin()
        self.assertEqual(self.driver.execute_script("return document.documentElement.lang"), "en")
        self.driver.find_element("css selector", "#language option[value='ja']").click()
        self.wait_text("#nav-users", "ユーザー")
        self.assertEqual(self.driver.execute_script("return document.documentElement.lang"), "ja")
        self.wait_text("#page-overview", "全体管理者")
        self.screenshot("overview-ja")
        self.check_accessibility("overview (ja)")
        self.driver.find_element("css selector", "#language option[value='en']").click()
        self.wait_text("#nav-users", "Users")

    def test_a_partner_named_like_markup_renders_as_text(self):
        status, reply = self.server.command(self.server.operator_token, enroll_body(XSS, "mallory@xss.example"))
        self.assertEqual(status, 200, reply)
        partner = reply["result"]["partner_id"]
        temporary = reply["result"]["temporary_password"]
        admin = self.server.sign_in("mallory@xss.example", temporary, partner)
        self.server.call("POST", "/v1/me/password", {"old": temporary, "new": "mallory-password-2026"}, admin)
        admin = self.server.sign_in("mallory@xss.example", "mallory-password-2026", partner)
        status, reply = self.server.command(admin, {"type": "CreateUser", "partner_id": partner,
                                                    "profile": {"first_name": XSS, "last_name": XSS,
                                                             "email": "imgx@xss.example", "phone": ""},
                                                    "roles": ["sales_agent"]})
        self.assertEqual(status, 200, reply)
        self.sign_in_user("mallory@xss.example", "mallory-password-2026", partner)
        self.wait("#page-overview")
        for page, css in (("settings", "#partner-name"), ("users", "#page-users table")):
            self.open(page)
            el = self.wait_text(css, XSS)
            self.assertIn(XSS, el.text)
            self.assertEqual(self.find_all("main img"), [], page)
            self.assertTrue(self.no_alert(), page)
        self.screenshot("xss-inert")


class JapaneseBrowser(ConsoleCase):
    language = "ja-JP"

    def test_a_japanese_browser_gets_the_japanese_console(self):
        self.sign_out_if_signed_in()
        self.wait_text("#page-signin h1", "サインイン")
        self.assertEqual(self.driver.execute_script("return document.documentElement.lang"), "ja")
        self.sign_in_admin()
        self.wait_text("#nav-overview", "概要")


if __name__ == "__main__":
    unittest.main()
