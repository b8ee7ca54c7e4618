"""The compliance console in a real browser (Playwright driving Debian's Chromium), against
a running predial, as a compliance officer would use it. Run by `tests/console.rs`, which
starts the server and passes its address and tokens; exits non-zero on the first failure.

Every page is also checked with axe-core (injected from npm's package): no serious or
critical violations.
"""

import argparse
import base64
import http.server
import json
import os
import sys
import threading
import time
import urllib.request
import urllib.error

from playwright.sync_api import sync_playwright, expect

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--admin", required=True)
p.add_argument("--auditor", required=True)
p.add_argument("--dialer", required=True)
p.add_argument("--axe", required=True)
p.add_argument("--shots", default="")
p.add_argument("--figures", default="")
args = p.parse_args()
BASE = args.base
AXE = open(args.axe, encoding="utf-8").read()
figures = {}


def call(method, path, body=None, token=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("content-type", "application/json" if raw is None else "text/plain")
    if token:
        request.add_header("authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text.startswith("{") else text), dict(r.headers)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text.startswith("{") else text), dict(e.headers)


def admin(method, path, body=None):
    status, answer, _ = call(method, path, body, token=args.admin)
    assert status == 200, f"{method} {path}: {status} {answer}"
    return answer


def consumer(cid, phones, tz="America/New_York", state="MA"):
    admin("PUT", f"/v1/consumers/{cid}", {
        "role": "ROLE_DEBTOR", "state": state, "country": "US", "timeZone": tz,
        "phones": [{"number": n} for n in phones],
    })


def record(cid, phone, n, at):
    admin("POST", "/v1/contacts", {
        "eventId": f"{cid}-{n}-{at}", "consumerId": cid, "channel": "CHANNEL_PHONE",
        "phone": phone, "resultCode": 1, "occurredAt": at,
    })


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---- Seeds ------------------------------------------------------------------------------
consumer("c1", ["+16175550100", "+16175550101"])
consumer("c2", ["+16175550199"])
XSS = "stop <img src=x onerror=alert(1)>"
admin("POST", "/v1/inboundTexts", {"phone": "+16175550199", "body": XSS})
# A consumer with a year of calls, one a day, for the card's timing.
consumer("c3", ["+16175550300"])
now = time.time()
for day in range(365):
    record("c3", "+16175550300", day, iso(now - (365 - day) * 86400))

failures = []
dialogs = []


def check_axe(page, name):
    page.evaluate(AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {name}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad)


def shot(page, name):
    if args.shots:
        page.screenshot(path=os.path.join(args.shots, f"{name}.png"), full_page=True)


def sign_in(page, token, name="Dana Officer"):
    page.goto(BASE + "/")
    page.get_by_label("Token").fill(token)
    page.get_by_label("Your name (recorded with every change)").fill(name)
    page.get_by_role("button", name="Sign in").click()


def find(page, text):
    page.get_by_label("Consumer or phone").fill(text)
    page.get_by_role("button", name="Find").click()


with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    visited = []
    page.on("request", lambda r: visited.append(r.url))

    # The page's policy: no inline script; nothing but this origin.
    response = page.goto(BASE + "/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert page.locator("script:not([src])").count() == 0, "no inline script"
    expect(page.get_by_label("Token")).to_be_visible()
    check_axe(page, "sign-in")

    # A wrong token, then the officer's.
    sign_in(page, "not-a-token")
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    sign_in(page, args.admin)
    expect(page.get_by_label("Consumer or phone")).to_be_visible()
    check_axe(page, "consumers")

    # Found by a number as people write it; None; one of two numbers excluded: Partial.
    find(page, "(617) 555-0100")
    expect(page.locator("#exclusion-status")).to_have_text("None")
    check_axe(page, "customer card")
    page.get_by_label("By User (+16175550101)").check()
    expect(page.locator("#exclusion-status")).to_have_text("Partial")
    expect(page.locator("#toast")).to_have_text("Saved.")
    status = admin("GET", "/v1/consumers/c1/exclusions")
    assert status["status"] == "EXCLUSION_LEVEL_PARTIAL", status
    notes = admin("GET", "/v1/consumers/c1/auditNotes")["notes"]
    assert any("Dana Officer" in n["text"] for n in notes), "the operator is recorded"

    # Bankruptcy switched in place; a Check turns DENY with the reason in words.
    page.get_by_label("Mode").select_option("MODE_MANUAL")
    # A Tuesday at 11:00 in New York (the browser's zone is UTC): inside calling hours.
    page.get_by_label("Instant (default now)").fill("2026-06-02T15:00")
    page.get_by_label("Collection workflow step").check()
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result")).to_contain_text("ALLOW")
    page.get_by_label("Bankruptcy").check()
    expect(page.locator("#toast")).to_have_text("Saved.")
    expect(page.get_by_label("Bankruptcy")).to_be_checked()
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result")).to_contain_text("DENY")
    expect(page.locator("#check-result")).to_contain_text("ankruptcy")
    page.get_by_label("Bankruptcy").uncheck()
    expect(page.get_by_label("Bankruptcy")).not_to_be_checked()

    # Calls recorded until the count reaches the limit: the warning colour.
    for day in range(7):
        record("c1", "+16175550100", day, iso(now - (6 - day) * 86400 - 3600))
    find(page, "c1")
    cell = page.locator('td[data-control="regf-calls"]')
    expect(cell).to_have_text("7 of 7")
    expect(cell).to_have_class("count-warning")
    shot(page, "customer-card")

    # A STOP reply with markup in it is shown as those characters.
    find(page, "+1 617 555 0199")
    expect(page.locator("#exclusion-status")).to_have_text("Full")
    expect(page.locator(".reply").first).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#card img").count() == 0, "the reply is text, not markup"

    # A year of calls: from search to a rendered card.
    started = time.perf_counter()
    find(page, "c3")
    expect(page.locator("td[data-control]").first).to_be_visible()
    figures["card_ms_year_of_calls"] = round((time.perf_counter() - started) * 1000, 1)

    # Rules: a wrong value is shown beside its field; a reason activates the fix; the
    # version is in the history, and the diff shows what changed.
    page.get_by_role("link", name="Rules").click()
    limit = page.get_by_label("Max total contacts").first
    limit.fill("0")
    limit.dispatch_event("change")
    page.get_by_role("button", name="Validate").click()
    error = page.locator(".field-error").first
    expect(error).to_be_visible()
    assert page.get_by_label("Max total contacts").first.get_attribute("aria-invalid") == "true"
    check_axe(page, "rules")
    shot(page, "rules-form")
    limit = page.get_by_label("Max total contacts").first
    limit.fill("6")
    limit.dispatch_event("change")
    page.get_by_label("Reason for the change").fill("counsel asks for 6 in 7")
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("h1#rules-h")).to_contain_text("version 2")
    expect(page.locator("table").last).to_contain_text("counsel asks for 6 in 7")
    page.get_by_label("From", exact=True).select_option("1")
    page.get_by_label("To", exact=True).select_option("2")
    page.get_by_role("button", name="Show the differences").click()
    expect(page.locator("#diff")).to_contain_text("maxTotalContacts")

    # Programs: created in steps; a CSV of 500 rows with two bad ones adds nothing and
    # names both; a good one is added.
    page.get_by_role("link", name="Programs").click()
    page.get_by_label("Program id").fill("spring")
    page.get_by_label("Business unit").fill("Collections")
    page.get_by_label("Program type").fill("Outbound")
    page.get_by_label("Name", exact=True).fill("Spring campaign")
    page.get_by_label("Description").fill("Reminders")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Display name").fill("ACME Servicing")
    page.get_by_label("Shorthand display").fill("ACME")
    page.get_by_label("Start").fill("2026-01-01")
    page.get_by_label("End").fill("2027-12-31")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Numbers of Spring campaign")).to_be_visible()
    check_axe(page, "programs")
    rows = [f"+1212555{i:04d},DEBT_COLLECTION" for i in range(500)]
    rows[41] = "12,DEBT_COLLECTION"
    rows[301] = "+12125559999,NOT_A_PURPOSE"
    bad_csv = "\n".join(rows)

    def drop(text):
        handle = page.evaluate_handle(
            """(text) => { const dt = new DataTransfer();
                dt.items.add(new File([text], 'numbers.csv', {type: 'text/csv'})); return dt; }""", text)
        page.locator("#dropzone").dispatch_event("drop", {"dataTransfer": handle})

    drop(bad_csv)
    expect(page.locator("#row-errors li")).to_have_count(2)
    expect(page.locator("#row-errors")).to_contain_text("Row 42")
    expect(page.locator("#row-errors")).to_contain_text("Row 302")
    shot(page, "programs-portal")
    assert "numbers" not in json.dumps(admin("GET", "/v1/programs/spring")), "nothing added"
    drop("\n".join(f"+1212555{i:04d},DEBT_COLLECTION" for i in range(500)))
    expect(page.locator("#numbers-result")).to_contain_text("500 number(s) added")

    # Do Not Call upload with progress, and the evidence download.
    page.get_by_role("link", name="Lists & evidence").click()
    check_axe(page, "lists and evidence")
    list_file = "/tmp/predial-console-national.txt"
    with open(list_file, "w") as f:
        f.write("\n".join(f"303555{i:04d}" for i in range(3000)) + "\n")
    page.get_by_label("File (one number a line)").set_input_files(list_file)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#dnc-result")).to_contain_text("3000 on the list now")
    page.get_by_label("Consumer id (empty: everyone)").fill("c1")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    evidence = open(download.value.path(), encoding="utf-8").read()
    assert evidence.startswith("at,kind,consumer_id"), evidence[:80]
    assert "EXCLUSION" in evidence and "CONTACT" in evidence

    # A phone-sized screen: the card still works.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BASE + "/#/consumers/c1")
    expect(page.locator("#exclusion-status")).to_be_visible()
    check_axe(page, "customer card on a phone")
    # Every control reachable by keyboard: tabbing reaches the Check button.
    page.keyboard.press("Tab")
    reached = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement && (document.activeElement.textContent || document.activeElement.id)"))
    assert "Check" in reached, sorted(x for x in reached if x)[:20]
    page.set_viewport_size({"width": 1280, "height": 800})

    # The auditor reads everything and finds nothing that changes anything.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, args.auditor, "Examiner")
    find(page, "c1")
    expect(page.locator("#exclusion-status")).to_have_text("Partial")
    check_axe(page, "the auditor's card")
    for label in ["Bankruptcy", "Disable Texting & Auto Calls", "Disable Auto Communications", "By User (+16175550100)"]:
        expect(page.get_by_label(label)).to_be_disabled()
    expect(page.get_by_role("button", name="Check")).to_be_disabled()
    page.get_by_role("link", name="Rules").click()
    expect(page.get_by_role("button", name="Activate")).to_be_disabled()
    page.get_by_role("link", name="Lists & evidence").click()
    expect(page.get_by_role("button", name="Upload")).to_be_disabled()
    enabled = page.evaluate("""() => [...document.querySelectorAll('button:not([disabled])')].map(b => b.textContent)""")
    assert set(enabled) <= {"Sign out", "Download"}, enabled
    # And the API refuses the auditor's writes whatever the page shows.
    status, answer, _ = call("PUT", "/v1/consumers/c1/exclusions", {"bankruptcy": True}, token=args.auditor)
    assert status == 403, (status, answer)

    # A dialer's token shows an explanation and nothing else.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, args.dialer)
    expect(page.get_by_role("heading", name="This token cannot use the console")).to_be_visible()
    assert page.locator("#nav").is_hidden()
    check_axe(page, "a dialer's explanation")

    # CSRF: a page on another origin posts a form to the API; nothing changes.
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    form_dir = "/tmp/predial-console-evil"
    os.makedirs(form_dir, exist_ok=True)
    with open(os.path.join(form_dir, "index.html"), "w") as f:
        f.write(f"""<form id=f method=post action="{BASE}/v1/programs" enctype="text/plain">
<input name='{{"id":"evil","name":"x","callPurpose":"CALL_PURPOSE_TELEMARKETING","ignore":"' value='"}}'>
</form><script>document.getElementById('f').submit()</script>""")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=form_dir, **k)
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    with page.expect_response(lambda r: "/v1/programs" in r.url) as posted:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/index.html")
    assert posted.value.status == 403, posted.value.status
    evil.shutdown()
    status, _, _ = call("GET", "/v1/programs/evil", token=args.admin)
    assert status == 404, "the forged form created nothing"
    status, _, _ = call("POST", "/v1/programs", {"id": "evil2", "name": "x"}, token=args.admin,
                        headers={"origin": "http://evil.example"})
    assert status == 403

    # The token was never in a URL.
    for token in (args.admin, args.auditor, args.dialer):
        assert not any(token in url for url in visited), "a token in a URL"
    assert not dialogs, f"a script ran: {dialogs}"
    browser.close()

# Bytes on first load: the page and what it loads.
total = 0
for path in ["/", "/console/app.js", "/console/app.css"]:
    status, body, _ = call("GET", path)
    total += len(body.encode() if isinstance(body, str) else json.dumps(body).encode())
figures["first_load_bytes"] = total
if args.figures:
    with open(args.figures, "w") as f:
        json.dump(figures, f)
print("console: every check passed", json.dumps(figures))
