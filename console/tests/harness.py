"""The console's browser tests' harness: a real `acct serve --demo` on loopback,
a real headless Chromium (Debian's chromium and chromium-driver, driven by
python3-selenium), screenshots, console-error and accessibility checks.

Each test module starts one server and one browser (ConsoleCase.setUpClass).
Every wait is bounded. Run with Debian's /usr/bin/python3 (it has selenium).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AXE = os.path.join(SOURCE_DIR, "build-tools", "node", "node_modules", "axe-core", "axe.min.js")
WAIT = 20  # seconds: the longest any single wait may take (a Debug + ASan server)


def _view_routes():
    """The routes a view answers (they take min_position), from the console's
    own list in console/web/api.js: one home for it."""
    with open(os.path.join(SOURCE_DIR, "console", "web", "api.js"), encoding="utf-8") as f:
        block = re.search(r"const VIEW_ROUTES = \[(.*?)\]", f.read(), re.S)
    if not block:
        raise RuntimeError("no VIEW_ROUTES list in console/web/api.js")
    return [re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", p) + "$") for p in re.findall(r"'([^']+)'", block.group(1))]


VIEW_ROUTES = _view_routes()
DEMO_PASSWORD = "demo-password-2026"
DEMO_ADMIN = "ada@contoso.example"


class DemoServer:
    """`acct serve --demo` in a fresh folder: its URL, partner, tokens."""

    def __init__(self, acct, extra_args=()):
        self.work = tempfile.mkdtemp(prefix="acct-console-")
        self.data = os.path.join(self.work, "data")
        self.out = open(os.path.join(self.work, "out"), "w+")
        self.err = open(os.path.join(self.work, "err"), "w+")
        self.acct = acct
        text = self._start(["--demo", *extra_args], "\nOr with curl:")
        p = re.search(r"^demo partner ([0-9a-f-]{36}) seeded", text, re.M)
        if not p:
            raise RuntimeError("no demo partner in:\n" + text)
        self.partner = p.group(1)
        self.operator_token = self._read_token("operator.token")
        self.auditor_token = self._read_token("demo-auditor.token")

    def _start(self, args, ready_line):
        command = [self.acct, "serve", "--data", self.data, "--listen", "127.0.0.1:0", *args]
        # For work on the console: its files from the source folder, not the binary.
        if os.environ.get("ACCT_CONSOLE_DIR"):
            command += ["--console-dir", os.environ["ACCT_CONSOLE_DIR"]]
        self.out.seek(0)
        self.out.truncate()
        self.proc = subprocess.Popen(command, stdout=self.out, stderr=self.err)
        text = ""
        for _ in range(600):
            self.out.seek(0)
            text = self.out.read()
            if ready_line in text or self.proc.poll() is not None:
                break
            time.sleep(0.1)
        m = re.search(r"^listening on (http://\S+)", text, re.M)
        if not m or ready_line not in text:
            self.err.seek(0)
            raise RuntimeError("the server did not start:\n" + text + self.err.read())
        self.base = m.group(1)
        return text

    def restart(self, extra_args=()):
        """Stops the server (it signs a checkpoint of its head on the way out)
        and starts it again on the same folder, on a new port."""
        self.proc.terminate()
        self.proc.wait(timeout=WAIT)
        self._start(list(extra_args), "listening on")

    def _read_token(self, name):
        path = os.path.join(self.data, name)
        for _ in range(100):
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
            time.sleep(0.1)
        with open(path) as f:
            return f.read().strip()

    def call(self, method, path, body=None, token=None):
        """The API, as a client we wrote for setting up a test (not the console).
        A GET a view answers reads every write made so far, the browser's too:
        it carries the log's head as min_position (a view may lag the log)."""
        if method == "GET" and "min_position=" not in path and any(r.match(path.split("?")[0]) for r in VIEW_ROUTES):
            path += ("&" if "?" in path else "?") + "min_position=" + str(self.head())
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def head(self):
        """The log's durable head (GET /healthz)."""
        status, health = self.call("GET", "/healthz")
        assert status == 200, health
        return health["log"]["head"]

    def command(self, token, body):
        import uuid
        return self.call("POST", "/v1/commands", dict(body, command_id=str(uuid.uuid4())), token)

    def sign_in(self, email, password, partner=None):
        status, body = self.call("POST", "/v1/sessions",
                                 {"partner_id": partner or self.partner, "email": email, "password": password})
        assert status == 200, body
        return body["token"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.out.close()
        self.err.close()
        shutil.rmtree(self.work, ignore_errors=True)


def new_browser(language="en-US"):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", f"--lang={language}", "--disable-extensions",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


class ConsoleCase(unittest.TestCase):
    """One demo server and one browser per test class."""

    language = "en-US"
    serve_args = ()  # more `acct serve` options for this class's server

    @classmethod
    def setUpClass(cls):
        acct = os.environ.get("ACCT_BINARY")
        if not acct:
            raise unittest.SkipTest("ACCT_BINARY is not set")
        cls.server = DemoServer(acct, cls.serve_args)
        try:
            cls.driver = new_browser(cls.language)
        except Exception:
            cls.server.stop()
            raise
        cls.shots = os.environ.get("ACCT_CONSOLE_SCREENSHOTS", os.path.join(cls.server.work, "shots"))
        os.makedirs(cls.shots, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()

    def setUp(self):
        self.allowed_http_errors = set()
        self.axe_ran = False
        self.driver.get_log("browser")  # start each test with an empty console

    def tearDown(self):
        self.assert_no_console_errors()

    # ---- the browser console -------------------------------------------------
    def allow_http_errors(self, *statuses):
        """An API answer the test provokes on purpose (Chromium logs every 4xx of
        a fetch as a console error); anything else in the console fails."""
        self.allowed_http_errors.update(statuses)

    def assert_no_console_errors(self):
        errors = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] not in ("SEVERE",):
                continue
            # axe's probes set inline styles, which the console's CSP refuses (as
            # it should), sometimes logged after check_accessibility drained the
            # log: once axe ran, those refusals are axe's. The console's code sets
            # no style attribute (and before axe runs, none is excused).
            if self.axe_ran and entry.get("source") == "security" and "Applying inline style" in entry["message"]:
                continue
            m = re.search(r"the server responded with a status of (\d{3})", entry["message"])
            if entry.get("source") == "network" and m and int(m.group(1)) in self.allowed_http_errors:
                continue
            errors.append(entry)
        self.assertEqual(errors, [], "browser console errors")

    # ---- navigation and waits ---------------------------------------------------
    def open(self, hash_route=""):
        self.driver.get(self.server.base + "/" + (f"#/{hash_route}" if hash_route else ""))

    def wait(self, css, timeout=WAIT):
        return WebDriverWait(self.driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def wait_text(self, css, text, timeout=WAIT):
        WebDriverWait(self.driver, timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait_gone(self, css, timeout=WAIT):
        WebDriverWait(self.driver, timeout).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, css)))

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css, text):
        el = self.wait(css)
        el.clear()
        el.send_keys(text)
        return el

    def field(self, name, scope="main"):
        """The input of the form field the API names `name` (data-field)."""
        return self.wait(f'{scope} [data-field="{name}"]')

    def field_error(self, name, scope="main"):
        """The error text shown beside the field `name` (waits for it)."""
        input_el = self.field(name, scope)
        err_css = f"#{input_el.get_attribute('id')}-error"
        WebDriverWait(self.driver, WAIT).until(lambda d: d.find_element(By.CSS_SELECTOR, err_css).text.strip() != "")
        return self.find(err_css).text

    def click(self, css):
        el = WebDriverWait(self.driver, WAIT).until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))
        el.click()
        return el

    def no_alert(self):
        try:
            self.driver.switch_to.alert
            return False
        except NoAlertPresentException:
            return True

    # ---- signing in ----------------------------------------------------------------
    def sign_out_if_signed_in(self):
        self.open()
        self.driver.execute_script("sessionStorage.clear();")
        self.driver.get(self.server.base + "/")
        self.wait("#page-signin")

    def sign_in_user(self, email, password, partner=None):
        self.sign_out_if_signed_in()
        self.click("#signin-mode-user")
        self.fill('[data-field="partner_id"]', partner or self.server.partner)
        self.fill('[data-field="email"]', email)
        self.fill('[data-field="password"]', password)
        self.click('#page-signin button[type="submit"]')

    def sign_in_admin(self):
        self.sign_in_user(DEMO_ADMIN, DEMO_PASSWORD)
        self.wait("#page-overview")

    def sign_in_token(self, token):
        self.sign_out_if_signed_in()
        self.click("#signin-mode-token")
        self.fill('[data-field="token"]', token)
        self.click('#page-signin button[type="submit"]')
        self.wait("#page-overview")

    # ---- evidence --------------------------------------------------------------------
    def screenshot(self, name):
        path = os.path.join(self.shots, f"{name}.png")
        self.driver.save_screenshot(path)
        return path

    def check_accessibility(self, name):
        """axe-core (WCAG 2 A and AA rules: labels, roles, names, contrast, ...) on
        the page as it is, and a walk of the focus order with Tab: every stop is
        visible and the stops follow the document's order."""
        self.assert_no_console_errors()  # what the page logged before axe ran
        self.axe_ran = True
        with open(AXE) as f:
            self.driver.execute_script(f.read())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
            ".then(r => done({violations: r.violations.map(v => ({id: v.id, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))}))"
            ".catch(e => done({error: String(e)}));")
        self.assertNotIn("error", result, result)
        self.assertEqual(result["violations"], [], f"{name}: accessibility violations")
        self.assert_no_console_errors()  # anything but axe's refused inline styles fails
        self.check_focus_order(name)

    def check_focus_order(self, name, stops=40):
        """Tab from the top: each stop is a visible element, later in the document
        than the one before (no positive tabindex reorders it), until focus
        leaves the page or `stops` are walked."""
        positive = self.driver.execute_script(
            "return [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length;")
        self.assertEqual(positive, 0, f"{name}: elements with a positive tabindex")
        self.driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
        seen = []
        for _ in range(stops):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            info = self.driver.execute_script(
                "const el = document.activeElement; if (!el || el === document.body) return null;"
                "const r = el.getBoundingClientRect(); const style = getComputedStyle(el);"
                "return {pos: [...document.querySelectorAll('*')].indexOf(el), tag: el.tagName, id: el.id,"
                " w: r.width, h: r.height, hidden: style.visibility === 'hidden' || style.display === 'none'};")
            if info is None or (seen and info["pos"] == seen[0]["pos"]):
                break  # focus left the page, or wrapped around to its first stop
            if seen and info["pos"] == seen[-1]["pos"]:
                continue  # a part of the same control (a date input's day, month, year)
            if seen:
                self.assertGreater(info["pos"], seen[-1]["pos"], f"{name}: Tab went back from {seen[-1]} to {info}")
            self.assertFalse(info["hidden"], f"{name}: focus on a hidden element {info}")
            self.assertTrue(info["w"] > 0 and info["h"] > 0, f"{name}: focus on an element of no size {info}")
            seen.append(info)
        self.assertGreater(len(seen), 1, f"{name}: Tab reaches nothing")
