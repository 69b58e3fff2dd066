"""The audit and operator pages in a real browser: the demo auditor reads the
timeline (who, what, the before/after diff), pages it, reads the state as of
a time and after a position (compared with the API's own answers), downloads
the timeline and the state (the files' contents checked), and sees the log's
head and last signed checkpoint (the consistency proof and the Ed25519
signature checked in the page); the operator enrols a partner through the
form, suspends, reinstates and vets it, sets its regions, sees a price list's
refusal beside the field, and sees health and view lag."""
import base64
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from selenium.webdriver.support.ui import WebDriverWait

from harness import ConsoleCase, WAIT

CHECKPOINT_WAIT = 30  # seconds


def enrol_values(name, email):
    return {
        "partner_name": name, "mpn_id": "7654321",
        "admin.first_name": "Eve", "admin.last_name": "Admin", "admin.email": email,
        "legal.company_name": name + " LLC", "legal.address.line1": "1 Main Street", "legal.address.city": "Redmond",
        "legal.address.state": "WA", "legal.address.postal_code": "98052",
        "legal.primary_contact.first_name": "Pat", "legal.primary_contact.last_name": "Legal",
        "legal.primary_contact.email": "pat@" + email.split("@")[1], "legal.approver_email": "approver@" + email.split("@")[1],
        "default_domain": "fabrikam.onmicrosoft.com",
    }


def shown(value):
    """A change's value as the page writes it: strings as they are ("" for the
    empty one), the rest as JSON."""
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, separators=(",", ":"))


class AuditAndOperator(ConsoleCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A signed checkpoint from the start, and no other until the test makes
        # one: the server signs its head when it stops, and with
        # --sign-every-seconds 0 it signs again only after 10,000 events.
        cls.server.restart(["--sign-every-seconds", "0"])

    # ---- helpers -------------------------------------------------------------------
    def api(self, path, token=None):
        status, body = self.server.call("GET", path, token=token or self.server.auditor_token)
        self.assertEqual(status, 200, body)
        return body

    def history(self):
        return self.api(f"/v1/partners/{self.server.partner}/history?limit=1000")["entries"]

    def text(self, path):
        """A text/plain answer (the checkpoint), or None on an error."""
        try:
            with urllib.request.urlopen(self.server.base + path, timeout=WAIT) as r:
                return r.read().decode()
        except urllib.error.HTTPError:
            return None

    def open_audit_as_auditor(self):
        self.sign_in_token(self.server.auditor_token)
        self.open("audit")
        self.wait("#timeline table")

    def downloads_to(self):
        folder = tempfile.mkdtemp(prefix="acct-downloads-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": folder})
        return folder

    def downloaded(self, folder, suffix):
        # Chromium writes the bytes to a .crdownload and renames it at the end,
        # and the final name can exist empty before that (a CI run read the
        # state's file empty): done when no .crdownload is left and the file has
        # bytes (every download here has).
        def done(_):
            names = os.listdir(folder)
            if any(n.endswith(".crdownload") for n in names):
                return False
            found = [n for n in names if n.endswith(suffix) and os.path.getsize(os.path.join(folder, n)) > 0]
            return found[0] if found else False
        name = WebDriverWait(self.driver, WAIT).until(done)
        with open(os.path.join(folder, name), encoding="utf-8", newline="") as f:
            return name, f.read()

    def verify_export(self, text):
        """`acct verify-export` on `text` against a backup of the live server's
        folder (`acct backup` takes no lock): its exit code."""
        work = tempfile.mkdtemp(prefix="acct-verify-")
        self.addCleanup(shutil.rmtree, work, True)
        acct = os.environ["ACCT_BINARY"]
        backup = os.path.join(work, "backup")
        subprocess.run([acct, "backup", "--data", self.server.data, "--to", backup], check=True,
                       capture_output=True, timeout=WAIT * 3)
        path = os.path.join(work, "export")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return subprocess.run([acct, "verify-export", "--data", backup, "--file", path], capture_output=True,
                              timeout=WAIT * 3).returncode

    # ---- the auditor ---------------------------------------------------------------------
    def test_auditor_reads_the_timeline_with_who_what_and_the_diff(self):
        self.open_audit_as_auditor()
        entries = self.history()
        first = self.find("#timeline table.timeline > tbody > tr")
        self.assertEqual(first.get_attribute("data-position"), str(entries[0]["position"]))
        self.assertIn("EnrollPartner", first.text)
        self.assertIn("PartnerEnrolled", first.text)
        self.assertIn("the operator (operator:demo)", first.text)
        # A change made by the admin: her name, the command, and the field before and after.
        support = next(e for e in entries if e["command_type"] == "UpdateSupportProfile")
        row = self.find(f'#timeline tr[data-position="{support["position"]}"]')
        self.assertIn(support["actor_name"], row.find_element("css selector", ".actor").text)
        self.assertIn(support["command_id"], row.text)
        change = support["changes"][0]
        diff = row.find_element("css selector", "table.changes tbody tr")
        self.assertEqual(diff.find_element("css selector", "th").text, change["path"])
        self.assertEqual(diff.find_element("css selector", ".diff-after").text, shown(change["after"]))
        self.assertEqual(diff.find_element("css selector", ".diff-before").text, shown(change["before"]))
        # Paging: 25 a page, the next page starts after the first.
        rows = self.find_all("#timeline table.timeline > tbody > tr")
        self.assertEqual(len(rows), 25)
        self.click("#timeline-next")
        self.wait_text("#timeline .counter", f"Positions {entries[25]['position']}")
        self.assertEqual(self.find("#timeline table.timeline > tbody > tr").get_attribute("data-position"), str(entries[25]["position"]))
        self.click("#timeline-first")
        self.wait_text("#timeline .counter", f"Positions {entries[0]['position']}")
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.screenshot("audit")
        # A time filter the API refuses lands beside its field.
        self.allow_http_errors(400)
        self.fill('#timeline-filter [data-field="from_time"]', "yesterday")
        self.click('#timeline-filter button[type="submit"]')
        self.assertTrue(self.field_error("from_time", "#timeline-filter"))
        self.check_accessibility("audit")

    def test_auditor_reads_the_state_as_of_a_time_before_a_change(self):
        self.open_audit_as_auditor()
        entries = self.history()
        partner = self.server.partner
        regions = next(e for e in entries if e["command_type"] == "SetAuthorizedRegions")
        before = max((e for e in entries if e["recorded_at"] < regions["recorded_at"]), key=lambda e: e["position"])
        earlier = self.api(f"/v1/partners/{partner}/state?as_of={before['recorded_at']}")
        now = self.api(f"/v1/partners/{partner}/state")
        self.assertNotEqual(earlier["partner"]["authorized_regions"], now["partner"]["authorized_regions"])
        self.fill('#state-form [data-field="as_of"]', before["recorded_at"])
        self.click('#state-form button[type="submit"]')
        self.wait_text("#state-point", f"position {earlier['last_event']['position']}")
        shown = self.find('#state-facts [data-key="authorized_regions"]').text
        self.assertEqual(shown, ", ".join(earlier["partner"]["authorized_regions"]) or "None")
        # The JSON as text is the API's answer.
        state_json = self.driver.execute_script("return document.getElementById('state-json').textContent")
        self.assertEqual(json.loads(state_json), earlier)
        # "State after #N" on a timeline row asks for that position.
        self.click(f'#timeline tr[data-position="{regions["position"]}"] button.link')
        self.wait_text("#state-point", f"position {regions['position']}")
        at = self.api(f"/v1/partners/{partner}/state?at_position={regions['position']}")
        self.assertEqual(self.find('#state-facts [data-key="authorized_regions"]').text,
                         ", ".join(at["partner"]["authorized_regions"]))
        self.assertNotEqual(shown, self.find('#state-facts [data-key="authorized_regions"]').text)

    def test_auditor_downloads_the_verifiable_export_and_the_state(self):
        self.open_audit_as_auditor()
        folder = self.downloads_to()
        partner = self.server.partner
        self.click("#export-jsonl")
        name, text = self.downloaded(folder, ".jsonl")
        self.assertEqual(name, f"partner-{partner}-export.jsonl")
        self.wait_text("#export-status", name)
        lines = [json.loads(line) for line in text.splitlines()]
        positions = [line["position"] for line in lines[:-1]]
        self.assertEqual(positions, sorted(positions))
        self.assertEqual(lines[0]["type"], "PartnerEnrolled")
        self.assertIn("head_hash", json.dumps(lines[-1]))  # the trailer
        # The downloaded file checks against the log with the CLI (a tool the
        # console did not write), from a backup so the live server keeps its lock.
        self.assertEqual(self.verify_export(text), 0)
        forged = text.replace("Contoso Cloud Services LLC", "Contoso Cloud Services LLD", 1)
        self.assertNotEqual(forged, text)
        self.assertNotEqual(self.verify_export(forged), 0)
        self.click("#export-csv")
        name, text = self.downloaded(folder, ".csv")
        self.assertEqual(name, f"partner-{partner}-export.csv")
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0][0], "record")
        self.assertEqual(len(rows), len(lines) + 1)  # the header, the same events and trailer
        self.assertEqual(self.verify_export(text), 0)
        # The state shown, as a JSON file.
        self.fill('#state-form [data-field="at_position"]', "10")
        self.click('#state-form button[type="submit"]')
        self.click("#state-download")
        name, text = self.downloaded(folder, ".json")
        self.assertEqual(json.loads(text), self.api(f"/v1/partners/{partner}/state?at_position=10"))

    def test_the_page_speaks_japanese(self):
        self.open_audit_as_auditor()
        self.driver.find_element("css selector", "#language option[value='ja']").click()
        self.wait_text("main h1", "監査")
        self.wait_text("#page-audit", "タイムライン")
        self.wait("#timeline table")
        self.screenshot("audit-ja")
        self.driver.find_element("css selector", "#language option[value='en']").click()
        self.wait_text("main h1", "Audit")

    # ---- the operator -------------------------------------------------------------------
    def test_operator_enrols_suspends_reinstates_and_vets_a_partner(self):
        token = self.server.operator_token
        self.sign_in_token(token)
        self.open("operator")
        self.wait("#health-views")
        for name, value in enrol_values("Fabrikam Resellers", "eve@fabrikam.example").items():
            self.fill(f'#enrol-form [data-field="{name}"]', value)
        self.click('#enrol-form button[type="submit"]')
        partner = self.wait("#new-partner-id").text
        password = self.find("#new-partner-password").text
        # The API has it: the new admin signs in with the temporary password shown,
        # changes it, and reads the partner's profile (the operator may not: least privilege).
        self.assertNotIn(password, self.driver.execute_script(
            "return JSON.stringify(Object.entries(sessionStorage))"))
        admin = self.server.sign_in("eve@fabrikam.example", password, partner)
        status, reply = self.server.call("POST", "/v1/me/password", {"old": password, "new": "fabrikam-password-2026"},
                                         admin)
        self.assertEqual(status, 200, reply)
        admin = self.server.sign_in("eve@fabrikam.example", "fabrikam-password-2026", partner)
        status, profile = self.server.call("GET", f"/v1/partners/{partner}/profile", token=admin)
        self.assertEqual(status, 200, profile)
        self.assertIn("Fabrikam Resellers", json.dumps(profile))
        self.click("#open-new-partner")
        self.wait_text("#operator-partner", partner)
        self.assertFalse(self.find_all("#new-partner-password"))

        def state():
            return self.api(f"/v1/partners/{partner}/state", token)["partner"]

        self.driver.find_element("css selector", "#suspend-form select[data-field='reason'] option[value='abuse']").click()
        self.fill("#suspend-form [data-field='note']", "chargebacks")
        self.click("#suspend-form button[type='submit']")
        self.wait_text("#summary-suspended", "Yes")
        self.assertTrue(state()["suspended"])
        self.click("#reinstate-form button[type='submit']")
        self.wait_text("#summary-suspended", "No")
        self.assertFalse(state()["suspended"])
        self.driver.find_element("css selector", "#vetting-form [data-field='status'] option[value='authorized']").click()
        self.driver.find_element("css selector",
                                 "#vetting-form [data-field='sub_status'] option[value='decision']").click()
        self.click("#vetting-form button[type='submit']")
        self.wait_text("#summary-vetting", "authorized / decision")
        self.assertEqual(state()["vetting"], {"status": "authorized", "sub_status": "decision"})
        self.fill("#regions-form [data-field='regions']", "us-west\nus-east")
        self.click("#regions-form button[type='submit']")
        self.wait_text("#summary-regions", "us-west")
        self.assertEqual(sorted(state()["authorized_regions"]), ["us-east", "us-west"])
        self.fill("#tags-form [data-field='competencies']", "Cloud Platform\nSecurity")
        self.fill("#tags-form [data-field='endorsements']", "Azure Expert")
        self.click("#tags-form button[type='submit']")
        self.wait_text("#tags-form .form-status", "Done")
        self.assertEqual((sorted(state()["competencies"]), state()["endorsements"]),
                         (["Cloud Platform", "Security"], ["Azure Expert"]))
        # A refused command: the API's message beside the field it names.
        self.allow_http_errors(400, 404, 409, 422)
        self.fill("#regions-form [data-field='regions']", "Not A Region")
        self.click("#regions-form button[type='submit']")
        self.assertTrue(self.field_error("regions", "#regions-form"))
        self.assertEqual(sorted(state()["authorized_regions"]), ["us-east", "us-west"])
        # Health and view lag.
        views = self.find_all("#health-views tbody tr")
        self.assertIn("audit", [v.get_attribute("data-view") for v in views])
        status, health = self.server.call("GET", "/healthz")
        self.assertEqual(len(views), len(health["views"]))
        self.assertIn("HTTP requests", self.find("#health-metrics").text)
        self.screenshot("operator")
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.screenshot("operator-health")
        self.check_accessibility("operator")

    def test_operator_price_list_errors_land_beside_the_field(self):
        self.allow_http_errors(400, 404, 409, 422)
        self.sign_in_token(self.server.operator_token)
        self.open("operator")
        self.wait("#price-list-form")
        self.fill("#price-list-form [data-field='price_list']", "{not json")
        self.click("#price-list-form button[type='submit']")
        self.assertIn("Not valid JSON", self.field_error("price_list", "#price-list-form"))
        # An offer the catalog does not have: the server refuses the list, and says why.
        price_list = {"market": "US", "currency": "USD", "year": 2099, "month": 1, "billing_model": "license_based",
                      "rows": [{"change_code": "ADD", "valid_from": "2099-01-01T00:00:00Z",
                                "valid_to": "2099-01-31T23:59:59Z", "offer_display_name": "Nothing",
                                "offer_id": "no-such-offer", "license_agreement_type": "corporate",
                                "purchase_unit": "1 Month", "secondary_license_type": "non_specific",
                                "end_customer_type": "corporate", "list_price_micros": 1, "erp_price_micros": 1}]}
        self.fill("#price-list-form [data-field='price_list']", json.dumps(price_list))
        self.click("#price-list-form button[type='submit']")
        message = self.field_error("price_list", "#price-list-form")
        self.assertIn("no-such-offer", message)
        # An offer through the form, in the catalog afterwards.
        self.fill("#offer-form [data-field='offer.offer_id']", "console-offer-1")
        self.fill("#offer-form [data-field='offer.display_name']", "Console Offer")
        self.click("#offer-form button[type='submit']")
        self.wait_text("#offer-form .form-status", "Done")
        status, events = self.server.call("GET", "/v1/streams/catalog?limit=1000", token=self.server.operator_token)
        self.assertEqual(status, 200, events)
        self.assertIn("console-offer-1", json.dumps(events))

    # ---- verification ------------------------------------------------------------------
    def test_z_verification_shows_the_head_and_the_signed_checkpoint(self):
        note = WebDriverWait(self.driver, CHECKPOINT_WAIT, poll_frequency=1).until(
            lambda _: self.text("/v1/checkpoints/latest"))
        origin, size, root = note.split("\n")[:3]
        # The head moves past the checkpoint: the page proves the new tree extends the signed one.
        status, reply = self.server.command(self.server.operator_token, {
            "type": "SetEarnedTags", "partner_id": self.server.partner, "competencies": ["Cloud Platform"],
            "endorsements": ["Audited"]})
        self.assertEqual(status, 200, reply)
        self.sign_in_token(self.server.auditor_token)
        self.open("audit")
        self.wait("#checkpoint-facts")
        status, health = self.server.call("GET", "/healthz")
        self.assertEqual(self.find("#verify-head").text, str(health["log"]["head"]))
        self.assertGreater(health["log"]["head"], int(size))
        self.assertEqual(self.find("#checkpoint-origin").text, origin)
        self.assertEqual(self.find("#checkpoint-size").text, size)
        self.assertEqual(self.find("#checkpoint-root").text, base64.b64decode(root).hex())
        self.assertIn("Verified in this browser", self.find("#consistency-result").text)
        proof = self.api(f"/v1/proofs/consistency?from={size}&to={health['log']['head']}")
        self.assertEqual(self.find("#verify-head-root").text, proof["to_root"])
        # The signature, with the key the auditor holds, and with another key.
        key = subprocess.run([os.environ["ACCT_BINARY"], "keys", "export-public", "--data", self.server.data],
                             check=True, capture_output=True, text=True).stdout.strip()
        self.fill("#verification [data-field='public_key']", key)
        self.click("#verification button[type='submit']")
        self.wait_text("#signature-result", "Signature valid")
        self.fill("#verification [data-field='public_key']", "ed25519:" + "11" * 32)
        self.click("#verification button[type='submit']")
        self.wait_text("#signature-result", "INVALID")
        self.screenshot("audit-verification")
        # The Tab walk starts where the last click was: back at the top.
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.find("main h1").click()
        self.check_accessibility("audit, with a checkpoint")


if __name__ == "__main__":
    unittest.main()
