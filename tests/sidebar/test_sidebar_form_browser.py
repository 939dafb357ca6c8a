"""In Chromium: the sidebar's ``form`` and ``deferred`` blocks driven from the page's own modules, for an Italian
agent, with a stand-in for the plugin's routes (every kind of field, amounts typed the agent's way, what is
sent, drafts kept across a reload, a deferred block's refresh stopped by the next render).

The whole path through a plugin's real routes, the workspace's ZAF host and a server counting requests is
``tests/core/test_example_plugin.py`` (the example plugin's "Watch another word" form).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.sidebar.test_sidebar_browser import ARTIFACTS, desk, open_sidebar, zaf_sdk

pytestmark = pytest.mark.browser
__all__ = ["desk", "zaf_sdk"]  # the fixtures this module reuses

# A panel with one form of every kind of field, rendered by render.js into the sidebar page; `window.demo`
# records what the stand-in API was sent and re-renders the panel the way a reload does.
MOUNT = """async () => {
  const base = document.querySelector('meta[name="deskmate-ui"]').getAttribute("content");
  const { renderPanel, renderBlocks } = await import(`${base}/js/render.js`);
  const block = { type: "form", name: "demo-refund", title: "Rimborso di un acquisto", tone: "danger",
    submit: "Rimborsa", preview: "/demo/preview", post: "/demo/post", body: { purchase_id: "pur_1" },
    fields: [
      { name: "amount", label: "Importo", kind: "money", currency: "EUR", value: 999, min: 1, max: 999,
        required: true, help: "Restano da rimborsare 9,99 €." },
      { name: "yen", label: "Importo in yen", kind: "money", currency: "JPY" },
      { name: "reason", label: "Motivo", kind: "select", required: true,
        options: [{ value: "duplicate", text: "Addebito doppio" }, { value: "outage", text: "Disservizio" }] },
      { name: "when", label: "Quando", kind: "radio", value: "period_end",
        options: [{ value: "now", text: "Subito" }, { value: "period_end", text: "A fine periodo" }] },
      { name: "note", label: "Nota interna", kind: "text" },
      { name: "count", label: "Quantità", kind: "number", min: 1, max: 3 },
    ] };
  const demo = { sent: [], reloads: 0, failNextPost: false };
  const env = { ticket: {}, tickers: [], zaf: null, notes: new Map(), drafts: new Map(),
    signal: new AbortController().signal,
    api: { request: async (method, path, body) => {
      demo.sent.push({ method, path, body });
      const euros = (body.amount / 100).toFixed(2).replace(".", ",");
      if (path === "/demo/preview") return { confirm: `Rimborso di ${euros} € su “Derby di Milano”.` };
      if (demo.failNextPost) { demo.failNextPost = false; throw new TypeError("Failed to fetch"); }
      return { message: "Rimborso inviato.", reply: "Ciao Luca, il rimborso è in arrivo." };
    } },
  };
  const panel = { title: "Prova", blocks: [block] };
  let node = null;
  demo.render = () => {
    const fresh = renderPanel("demo", panel, env);
    if (node) node.replaceWith(fresh); else document.getElementById("app").append(fresh);
    node = fresh;
  };
  env.reload = async () => { demo.reloads += 1; demo.render(); };
  demo.render();

  // A deferred block asking to be refreshed every second, in a render that a newer one replaces.
  let calls = 0;
  const controller = new AbortController();
  const deferredEnv = { ...env, signal: controller.signal,
    api: { request: async () => { calls += 1; return { blocks: [{ type: "text", text: `risposta ${calls}` }],
      refresh_seconds: 0.2 }; } } };
  const holder = renderBlocks([{ type: "deferred", source: "/demo/pending" }], null, deferredEnv)[0];
  holder.id = "demo-deferred";
  document.getElementById("app").append(holder);
  demo.deferredCalls = () => calls;
  demo.stopDeferred = () => controller.abort();
  window.demo = demo;
}"""


def test_in_chromium_a_form_with_every_kind_of_field_for_an_italian_agent(browser, zaf_sdk, desk, helpdesk):
    ticket = desk.ticket("luca.rossi@mail.example", "Rimborso", "Addebito doppio per il derby.")
    giulia = helpdesk.state.user_by_email("giulia.conti@deskmate.example")["id"]
    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{ticket}?as={giulia}")
    assert frame.get_attribute("#app", "data-state") == "ready", frame.inner_text("#app")
    frame.evaluate(MOUNT)
    form = frame.locator("[data-panel=demo] [data-form=demo-refund]")
    amount = form.get_by_role("textbox", name="Importo", exact=True)
    yen = form.get_by_role("textbox", name="Importo in yen (facoltativo)")
    reason = form.get_by_role("combobox", name="Motivo")
    note = form.get_by_role("textbox", name="Nota interna (facoltativo)")

    def error(field: str):
        return form.locator(f"[data-field={field}] .dm-field__error")

    # The default amount in minor units is shown in major units, the Italian way, with the euro sign after it.
    expect(amount).to_have_value("9,99")
    assert form.locator("[data-field=amount] .dm-input-group--after .dm-input-group__affix").inner_text() == "€"
    expect(form.get_by_role("radio", name="A fine periodo")).to_be_checked()

    # The page's checks, in Italian, beside each field; nothing is sent.
    amount.fill("12,345")
    yen.fill("4,5")
    form.get_by_role("button", name="Rimborsa").click()
    expect(error("amount")).to_have_text("Usa al massimo 2 decimali.")
    expect(error("yen")).to_have_text("JPY non ha centesimi: inserisci un importo intero.")
    expect(error("reason")).to_have_text("Scegli un\u2019opzione.")  # the catalog's apostrophe
    expect(amount).to_be_focused()
    amount.fill("10")
    form.get_by_role("button", name="Rimborsa").click()
    expect(error("amount")).to_have_text("Al massimo 9,99 €.")
    assert frame.evaluate("window.demo.sent.length") == 0

    # What was typed survives a reload of the panel (another action's, say).
    note.fill("chiesto in chat")
    frame.evaluate("window.demo.render()")
    expect(note).to_have_value("chiesto in chat")
    expect(amount).to_have_value("10")

    # "4.99" typed the English way is 499 cents all the same; "1.000" yen is a thousand.
    amount.fill("4.99")
    yen.fill("1.000")
    reason.select_option(label="Disservizio")
    form.get_by_role("button", name="Rimborsa").click()
    dialog = form.get_by_role("alertdialog", name="Controlla e conferma")
    expect(dialog).to_contain_text("Rimborso di 4,99 € su “Derby di Milano”.")
    assert frame.evaluate("window.demo.sent") == [{"method": "POST", "path": "/demo/preview", "body": {
        "purchase_id": "pur_1", "amount": 499, "yen": 1000, "reason": "outage", "when": "period_end",
        "note": "chiesto in chat", "count": None}}]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_it_confirm.png"), full_page=True)

    # Escape goes back to the form, values kept; a new preview makes a new request_id.
    dialog.press("Escape")
    expect(dialog).to_have_count(0)
    expect(amount).to_be_enabled()
    expect(amount).to_have_value("4.99")
    form.get_by_role("button", name="Rimborsa").click()
    # No answer at all: said in Italian, and Confirm again resends the same request_id.
    frame.evaluate("window.demo.failNextPost = true")
    dialog.get_by_role("button", name="Conferma").click()
    expect(dialog).to_contain_text("Impossibile raggiungere Deskmate")
    expect(dialog).to_contain_text("Premi di nuovo Conferma per riprovare")
    dialog.get_by_role("button", name="Conferma").click()
    banner = frame.locator("[data-panel=demo] > [data-note]")
    expect(banner).to_contain_text("Rimborso inviato.")
    posts = [call["body"] for call in frame.evaluate("window.demo.sent") if call["path"] == "/demo/post"]
    assert len(posts) == 2 and posts[0]["request_id"] == posts[1]["request_id"]
    assert posts[0]["amount"] == 499
    assert frame.evaluate("window.demo.reloads") == 1
    # After the reload the form starts afresh (its draft is gone) and the note sits under the panel's title.
    expect(amount).to_have_value("9,99")
    expect(note).to_have_value("")

    # Without ZAF (this stand-in has none) the reply goes to the clipboard, or is shown to copy by hand.
    banner.get_by_role("button", name="Inserisci risposta").click()
    said = banner.locator("p[aria-live]")
    expect(said).to_have_text(re.compile(r"Risposta copiata: .*|Copia la risposta qui sotto .*"))
    if said.inner_text().startswith("Copia"):  # a frame may not write the clipboard: the reply, selected, to copy
        expect(banner.get_by_role("textbox", name="Risposta")).to_have_value("Ciao Luca, il rimborso è in arrivo.")
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_it_done.png"), full_page=True)

    # A deferred block refreshes in place while asked to, and stops when a newer render takes over.
    expect(frame.locator("#demo-deferred")).to_contain_text("risposta 3", timeout=5_000)
    assert frame.locator("#demo-deferred").get_attribute("data-refreshes") is not None
    frame.evaluate("window.demo.stopDeferred()")
    stopped = frame.evaluate("window.demo.deferredCalls()")
    page.wait_for_timeout(1_500)
    assert frame.evaluate("window.demo.deferredCalls()") == stopped
    page.close()
