"""The Integrations page's story in a real browser (Debian's chromium, headless, driven by
Playwright), in two acts the Rust test (browser.rs) runs with its own checks in between:

  add:    sign in and open "Add integration" with the keyboard only; add a postgres integration
          with a wrong password (the message shows next to the password field, nothing is
          saved), then with the right one; on the Overview tab, opened while the first sync is
          still queued, watch it finish live (server-sent events, no reload); put a resource in
          push mode; turn on "Create resources for new teams"; at a 375 px wide window, no main
          page scrolls sideways. Prints `integration_id=<id>`.
  remove: stop syncing that resource; delete the integration from its Settings tab through the
          confirmation dialog, with the keyboard (the team's resource is still in push mode, so
          the dialog lists it and needs "Delete anyway" ticked); the integration is gone from
          the list and its audit log still shows it all.

On every page it visits, every visible input, select and textarea has a label. Everything it
needs comes in environment variables (see browser.rs); when it prints `awaiting: workers` it
waits for a line on its stdin (the test starts the sync workers then). With SCREENSHOTS set, it
saves a PNG of each main page there.
"""

import os
import re
import sys

from playwright.sync_api import expect, sync_playwright

ENV = os.environ
BASE = ENV["CONSOLE_URL"]
SHOTS = ENV.get("SCREENSHOTS")
# Start flags that matter on a closed network: nothing tries to reach Google's services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PATIENCE_MS = int(ENV.get("PATIENCE_MS", "60000"))


def shot(page, name, full_page=True):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=full_page)


# The visible form controls without an accessible label: neither a <label> with text, nor
# aria-label, nor aria-labelledby naming an element with text.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden")
  .filter((el) => {
    const text = (node) => (node && node.textContent || "").trim().length > 0;
    const byLabel = [...(el.labels || [])].some(text);
    const byAria = (el.getAttribute("aria-label") || "").trim().length > 0;
    const byIds = (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .filter(Boolean).some((id) => text(document.getElementById(id)));
    return !(byLabel || byAria || byIds);
  })
  .map((el) => el.outerHTML.slice(0, 160))"""


def check_labels(page):
    """Every visible input, select and textarea of the page has a label."""
    unlabelled = page.evaluate(UNLABELLED)
    assert not unlabelled, f"unlabelled on {page.url}: {unlabelled}"
    # And Playwright finds each labelled one by its label, as a screen reader names it.
    for control in page.locator("input:visible, select:visible, textarea:visible").all():
        label = control.evaluate(
            "(el) => el.labels && el.labels[0] ? el.labels[0].textContent.trim() : null"
        )
        if label:
            expect(page.get_by_label(label, exact=True).first).to_be_visible()


# Elements of the page (form fields aside, which scroll their own text) whose content is wider
# than they are: a table that scrolls sideways inside the page is no easier to read.
SIDEWAYS = """() => [...document.querySelectorAll("body *")]
  .filter((el) => !["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName))
  .filter((el) => el.getClientRects().length > 0 && el.scrollWidth > el.clientWidth + 1
    && ["auto", "scroll"].includes(getComputedStyle(el).overflowX))
  .map((el) => el.outerHTML.slice(0, 80))"""


def check_narrow(page, path):
    """At the current (narrow) width, the page at `path` does not scroll sideways, nor does any
    part of it."""
    page.goto(BASE + path)
    check_labels(page)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{path} scrolls sideways at 375 px: {widths}"
    sideways = page.evaluate(SIDEWAYS)
    assert not sideways, f"{path} has parts that scroll sideways at 375 px: {sideways}"


def tab_to(page, name):
    """Presses Tab until the focused element's text is `name` (a regex), as a keyboard user."""
    for _ in range(20):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => (document.activeElement.innerText || document.activeElement.value || '').trim()"
        )
        if re.fullmatch(name, focused, re.I):
            return
    raise AssertionError(f"Tab never reached {name!r} on {page.url}")


def step(text):
    print(f"step: {text}", flush=True)


def sign_in(page):
    page.goto(BASE + "/")
    check_labels(page)
    shot(page, "sign-in")
    # Keyboard only: the token field has the focus, Enter submits.
    page.keyboard.type(ENV["ADMIN_TOKEN"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    check_labels(page)


def fill_setup(page, password):
    page.locator("#name").fill(ENV["INTEGRATION_NAME"])
    page.locator("#host").fill("127.0.0.1")
    page.locator("#port").fill(ENV["PG_PORT"])
    page.locator("#username").fill(ENV["PG_USERNAME"])
    page.locator("#password").fill(password)
    page.locator("#ca_cert").fill(ENV["PG_CA_CERT"])
    page.locator("#role_pattern").fill(ENV["ROLE_PATTERN"])


def add(page):
    step("keyboard only: sign in, Add integration, PostgreSQL")
    sign_in(page)
    tab_to(page, "Add integration")
    page.keyboard.press("Enter")
    expect(page).to_have_url(BASE + "/integrations/new")
    shot(page, "add-pick-type")
    tab_to(page, "PostgreSQL")
    page.keyboard.press("Enter")
    expect(page).to_have_url(BASE + "/integrations/new/postgres")
    check_labels(page)
    # Secret fields are password inputs.
    expect(page.locator("#password")).to_have_attribute("type", "password")

    step("a wrong password: refused next to its field, nothing saved")
    fill_setup(page, "not-the-password")
    page.get_by_role("button", name="Create integration").click()
    error = page.locator("#password-error")
    expect(error).to_be_visible(timeout=PATIENCE_MS)
    expect(error).not_to_be_empty()
    check_labels(page)
    shot(page, "add-refused")
    # What was entered comes back, the secret does not.
    expect(page.locator("#name")).to_have_value(ENV["INTEGRATION_NAME"])
    expect(page.locator("#port")).to_have_value(ENV["PG_PORT"])
    expect(page.locator("#password")).to_have_value("")
    page.goto(BASE + "/integrations")
    expect(page.get_by_text("No integrations yet.")).to_be_visible()

    step("the right password: created, the first sync finishes live on the page")
    page.goto(BASE + "/integrations/new/postgres")
    fill_setup(page, ENV["PG_PASSWORD"])
    page.get_by_role("button", name="Create integration").click()
    expect(page).to_have_url(re.compile(r"/integrations/[0-9a-f-]{36}$"), timeout=PATIENCE_MS)
    overview_url = page.url
    integration_id = overview_url.rsplit("/", 1)[1]
    # No worker runs yet: the Overview shows the run queued, followed live.
    live = page.locator("#live")
    progress = live.locator("[data-progress]")
    expect(live).to_be_visible()
    expect(progress).to_have_text(re.compile(r"^queued"))
    expect(live).not_to_have_attribute("data-state", re.compile("."))
    check_labels(page)
    # A mark on this very document: a reload or a navigation would lose it.
    page.evaluate("() => { window.storyMark = 'the same page'; }")
    print("awaiting: workers", flush=True)
    assert sys.stdin.readline().strip() == "go", "the test did not start the workers"
    step("workers started; the run ends on the open page")
    expect(live).to_have_attribute("data-state", "succeeded", timeout=PATIENCE_MS)
    expect(progress).to_have_text(re.compile(r"^succeeded"))
    expect(live.get_by_role("heading")).to_have_text("Sync finished")
    run_id = live.get_attribute("data-run")
    expect(page.locator(f'table.runs tr[data-run="{run_id}"] [data-state]')).to_have_text("succeeded")
    assert page.evaluate("() => window.storyMark") == "the same page", "the page was reloaded"
    assert page.url == overview_url
    shot(page, "overview")
    # The link to the run's full results.
    live.get_by_role("link", name="Show the run's results").click()
    expect(page.locator('table.runs [data-state="succeeded"]').first).to_be_visible()
    expect(page.locator("#live")).to_have_count(0)

    step("a resource in push mode")
    page.get_by_role("link", name="Resources").click()
    page.get_by_role("button", name=f"Push {ENV['PUSHED_RESOURCE']}").click()
    row = page.locator("tr", has=page.get_by_role("link", name=ENV["PUSHED_RESOURCE"]))
    expect(row.locator("[data-mode]")).to_have_text("push", timeout=PATIENCE_MS)
    check_labels(page)
    shot(page, "resources")

    step("Destination: create resources for new teams")
    page.get_by_role("link", name="Destination").click()
    switch = page.get_by_label("Create resources for new teams")
    expect(switch).not_to_be_checked()
    # Keyboard: space ticks the focused switch.
    switch.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Create resources for new teams")).to_be_checked()
    check_labels(page)
    shot(page, "destination")

    step("a narrow window: no main page scrolls sideways")
    page.set_viewport_size({"width": 375, "height": 800})
    resource_link = page.url.replace("/destination", "/resources")
    page.goto(resource_link)
    history = page.get_by_role("link", name=ENV["PUSHED_RESOURCE"]).get_attribute("href")
    for path in [
        "/integrations",
        "/integrations/new",
        "/integrations/new/postgres",
        f"/integrations/{integration_id}",
        f"/integrations/{integration_id}/resources",
        f"/integrations/{integration_id}/destination",
        f"/integrations/{integration_id}/settings",
        f"/integrations/{integration_id}/delete",
        f"/integrations/{integration_id}/audit",
        history,
    ]:
        check_narrow(page, path)
        if path.endswith("/resources"):
            shot(page, "narrow-resources")
    page.set_viewport_size({"width": 1100, "height": 800})
    print(f"integration_id={integration_id}", flush=True)


def remove(page):
    integration_id = ENV["INTEGRATION_ID"]
    page.set_viewport_size({"width": 375, "height": 800})
    check_narrow(page, "/")
    page.set_viewport_size({"width": 1100, "height": 800})
    sign_in(page)
    page.get_by_role("link", name=ENV["INTEGRATION_NAME"]).click()

    step("stop syncing the pushed resource")
    page.get_by_role("link", name="Resources").click()
    page.get_by_role("button", name=f"Stop syncing {ENV['PUSHED_RESOURCE']}").click()
    row = page.locator("tr", has=page.get_by_role("link", name=ENV["PUSHED_RESOURCE"]))
    expect(row.locator("[data-mode]")).to_have_text("pull", timeout=PATIENCE_MS)

    step("delete from the bottom of Settings, through the dialog, with the keyboard")
    page.get_by_role("link", name="Settings").click()
    settings_url = page.url
    check_labels(page)
    shot(page, "settings")
    dialog = page.locator("dialog#delete-dialog")
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Delete integration").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    # A modal dialog: the focus is in it, and Escape closes it where it was opened.
    focus_in = "() => document.activeElement && document.activeElement.closest('dialog') ? document.activeElement.closest('dialog').id : null"
    assert page.evaluate(focus_in) == "delete-dialog", "the focus did not move into the dialog"
    expect(page.get_by_role("dialog", name=re.compile("Delete integration"))).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.url == settings_url
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    check_labels(page)
    # The team's resource is still pushed: listed, and the delete needs the force box.
    expect(dialog.locator("ul.pushed")).to_contain_text(ENV["TEAM_NAME"])
    force = dialog.get_by_label(re.compile("Delete anyway"))
    expect(force).to_be_focused()
    # The window as it is: the modal dialog over the page.
    shot(page, "delete-confirmation", full_page=False)
    tab_to(page, "Delete integration")
    page.keyboard.press("Enter")
    # Not ticked: the browser keeps the dialog open and sends nothing.
    expect(dialog).to_be_visible()
    assert page.url == settings_url
    assert force.evaluate("(el) => !el.validity.valid")
    force.focus()
    page.keyboard.press("Space")
    expect(force).to_be_checked()
    tab_to(page, "Delete integration")
    page.keyboard.press("Enter")
    expect(page).to_have_url(BASE + "/integrations", timeout=PATIENCE_MS)
    expect(page.get_by_role("link", name=ENV["INTEGRATION_NAME"])).to_have_count(0)

    step("its audit log is still there")
    page.goto(f"{BASE}/integrations/{integration_id}/audit")
    actions = page.locator("td.action")
    for action in ["integration.create", "resource.sync_mode", "integration.update", "integration.delete"]:
        expect(actions.filter(has_text=action).first).to_be_visible()
    check_labels(page)
    shot(page, "audit")


def main():
    act = sys.argv[1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=ENV.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.set_default_timeout(PATIENCE_MS)
        try:
            {"add": add, "remove": remove}[act](page)
        except Exception:
            if SHOTS:
                shot(page, f"failed-{act}")
            print(f"failed at {page.url}:\n{page.content()}", file=sys.stderr, flush=True)
            raise
        finally:
            browser.close()
    print(f"{act}: done", flush=True)


if __name__ == "__main__":
    main()
