"""The Integrations page's story in a real browser (Debian's chromium, headless, driven by
Playwright), in two acts the Rust test (browser.rs) runs with its own checks in between:

  add:    sign in (keyboard only), add a postgres integration with a wrong password (the
          message shows next to the password field, nothing is saved), then with the right one;
          watch the first sync finish on the Overview tab; put a resource in push mode; turn on
          "Create resources for new teams". Prints `integration_id=<id>`.
  remove: stop syncing that resource; delete the integration from its Settings tab, confirming
          (the team's resource is still in push mode, so the confirmation asks for the force
          box); the integration is gone from the list and its audit log still shows it all.

Everything it needs comes in environment variables (see browser.rs). With SCREENSHOTS set,
it saves a PNG of each main page there.
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


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def step(text):
    print(f"step: {text}", flush=True)


def sign_in(page):
    page.goto(BASE + "/")
    shot(page, "sign-in")
    # Keyboard only: the token field has the focus, Enter submits.
    page.keyboard.type(ENV["ADMIN_TOKEN"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()


def fill_setup(page, password):
    page.locator("#name").fill(ENV["INTEGRATION_NAME"])
    page.locator("#host").fill("127.0.0.1")
    page.locator("#port").fill(ENV["PG_PORT"])
    page.locator("#username").fill(ENV["PG_USERNAME"])
    page.locator("#password").fill(password)
    page.locator("#ca_cert").fill(ENV["PG_CA_CERT"])
    page.locator("#role_pattern").fill(ENV["ROLE_PATTERN"])


def add(page):
    sign_in(page)
    page.get_by_role("link", name="Add integration").click()
    expect(page).to_have_url(BASE + "/integrations/new")
    shot(page, "add-pick-type")
    page.get_by_role("link", name=re.compile("PostgreSQL", re.I)).click()
    expect(page).to_have_url(BASE + "/integrations/new/postgres")
    # Secret fields are password inputs.
    expect(page.locator("#password")).to_have_attribute("type", "password")

    step("a wrong password: refused next to its field, nothing saved")
    fill_setup(page, "not-the-password")
    page.get_by_role("button", name="Create integration").click()
    error = page.locator("#password-error")
    expect(error).to_be_visible(timeout=PATIENCE_MS)
    expect(error).not_to_be_empty()
    shot(page, "add-refused")
    # What was entered comes back, the secret does not.
    expect(page.locator("#name")).to_have_value(ENV["INTEGRATION_NAME"])
    expect(page.locator("#port")).to_have_value(ENV["PG_PORT"])
    expect(page.locator("#password")).to_have_value("")
    page.goto(BASE + "/integrations")
    expect(page.get_by_text("No integrations yet.")).to_be_visible()

    step("the right password: created, the first sync finishes on the page")
    page.goto(BASE + "/integrations/new/postgres")
    fill_setup(page, ENV["PG_PASSWORD"])
    page.get_by_role("button", name="Create integration").click()
    expect(page).to_have_url(re.compile(r"/integrations/[0-9a-f-]{36}$"), timeout=PATIENCE_MS)
    integration_id = page.url.rsplit("/", 1)[1]
    succeeded = page.locator('table.runs [data-state="succeeded"]')
    expect(succeeded.first).to_be_visible(timeout=PATIENCE_MS)
    shot(page, "overview")

    step("a resource in push mode")
    page.get_by_role("link", name="Resources").click()
    page.get_by_role("button", name=f"Push {ENV['PUSHED_RESOURCE']}").click()
    row = page.locator("tr", has=page.get_by_role("link", name=ENV["PUSHED_RESOURCE"]))
    expect(row.locator("[data-mode]")).to_have_text("push", timeout=PATIENCE_MS)
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
    shot(page, "destination")
    print(f"integration_id={integration_id}", flush=True)


def remove(page):
    integration_id = ENV["INTEGRATION_ID"]
    sign_in(page)
    page.get_by_role("link", name=ENV["INTEGRATION_NAME"]).click()

    step("stop syncing the pushed resource")
    page.get_by_role("link", name="Resources").click()
    page.get_by_role("button", name=f"Stop syncing {ENV['PUSHED_RESOURCE']}").click()
    row = page.locator("tr", has=page.get_by_role("link", name=ENV["PUSHED_RESOURCE"]))
    expect(row.locator("[data-mode]")).to_have_text("pull", timeout=PATIENCE_MS)

    step("delete from the bottom of Settings, with confirmation")
    page.get_by_role("link", name="Settings").click()
    shot(page, "settings")
    page.get_by_role("link", name="Delete integration").click()
    # The team's resource is still pushed: listed, and the delete needs the force box.
    expect(page.locator("ul.pushed")).to_contain_text(ENV["TEAM_NAME"])
    shot(page, "delete-confirmation")
    page.get_by_role("button", name="Delete integration").click()
    expect(page.locator("p.message")).to_contain_text("push-mode", timeout=PATIENCE_MS)
    page.get_by_label(re.compile("Delete anyway")).check()
    page.get_by_role("button", name="Delete integration").click()
    expect(page).to_have_url(BASE + "/integrations", timeout=PATIENCE_MS)
    expect(page.get_by_role("link", name=ENV["INTEGRATION_NAME"])).to_have_count(0)

    step("its audit log is still there")
    page.goto(f"{BASE}/integrations/{integration_id}/audit")
    actions = page.locator("td.action")
    for action in ["integration.create", "resource.sync_mode", "integration.update", "integration.delete"]:
        expect(actions.filter(has_text=action).first).to_be_visible()
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
