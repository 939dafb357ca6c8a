// The sidebar: connects to the helpdesk (ZAF), asks Deskmate for the ticket's context, renders every panel.
// Plugins' panels are data (render.js) or rendered by the plugin's own module (meta.modules): this file names
// no plugin.

import { Api } from "./api.js";
import { alert, h } from "./dom.js";
import { loadMessages, t } from "./i18n.js";
import { recentPanel, requesterPanel } from "./panels.js";
import { headerBadges, renderPanel } from "./render.js";
import { autoResize, connect, HelpdeskUnreachable } from "./zaf.js";

const root = document.getElementById("app");
const uiBase = document.querySelector('meta[name="deskmate-ui"]').getAttribute("content");
const api = new Api();
const modules = new Map();
let tickers = [];
setInterval(() => { const now = Date.now(); tickers.forEach((tick) => tick(now)); }, 1000);
// Each render's timers (a deferred block's refresh) stop when the next render replaces it, as its tickers do.
let rendering = new AbortController();
// Kept across renders, which a reload replaces whole: what a form's action answered (the message and the
// reply to insert, by panel) and what an agent has typed into a form not sent yet.
const notes = new Map();
const drafts = new Map();
let zaf = null;

function showError(title, body, retry) {
  rendering.abort();
  root.setAttribute("aria-busy", "false");
  root.dataset.state = "error";
  root.replaceChildren(alert("error", title, body),
    retry ? h("button", { class: "dm-button", type: "button", text: t("error.retry"), onclick: retry }) : null);
}

// A plugin's own ES module, imported once; a module that cannot load leaves its panel in error.
async function importModules(urls) {
  await Promise.all(Object.entries(urls || {}).map(async ([name, url]) => {
    if (modules.has(name)) return;
    try {
      modules.set(name, await import(url));
    } catch (error) {
      modules.set(name, { render: () => { throw error; } });
    }
  }));
}

async function load(ticketId, locale) {
  let data;
  try {
    data = await api.ticket(ticketId, locale);
    await importModules(data.meta?.modules);
  } catch (error) {
    showError(t("error.load_title"), error.status === 401 ? t("error.session") : error.message,
      error.status === 401 ? null : () => load(ticketId, locale));
    return;
  }
  render(data, () => load(ticketId, locale));
}

function render(data, reload) {
  const { ticket, panels, meta } = data;
  tickers = [];
  rendering.abort();
  rendering = new AbortController();
  const env = { api, ticket, reload, tickers, zaf, signal: rendering.signal, notes, drafts };
  // Every enabled plugin in plugin order: its panel, its empty text when it has none, its error when it failed.
  const names = meta.plugins || Object.keys(panels);
  const sections = [
    meta.warning ? alert("warning", t("warning.partial"), meta.warning) : null,
    requesterPanel(ticket, headerBadges(panels)),
    ...names.map((name) => renderPanel(name, panels[name], env, modules.get(name))),
    recentPanel(ticket),
  ];
  root.replaceChildren(...sections.filter(Boolean));
  root.dataset.state = "ready";
  root.setAttribute("aria-busy", "false");
}

// Without the helpdesk the agent's locale is unknown: the browser's language says what failed and what to do.
async function unreachable(error) {
  try {
    await loadMessages(uiBase, navigator.language);
  } catch {
    showError("Deskmate", String(error.message));
    return;
  }
  let host = error.sdkUrl;
  try { host = new URL(error.sdkUrl, location.href).host; } catch { /* the URL as configured */ }
  const body = error.reason === "sdk"
    ? t("error.zaf_sdk", { host })
    : t("error.zaf_silent", { count: error.seconds });
  showError(t("error.zaf_title"), body, () => location.reload());
}

async function start() {
  let session;
  try {
    session = await connect();
    zaf = session.client;
    await loadMessages(uiBase, session.locale);
  } catch (error) {
    if (error instanceof HelpdeskUnreachable) {
      await unreachable(error);
      return;
    }
    showError("Deskmate", String(error.message || error));
    return;
  }
  api.onExpired = () => showError(t("error.load_title"), t("error.session"));
  autoResize(session.client, root);
  if (!session.ticketId) {
    root.setAttribute("aria-busy", "false");
    root.dataset.state = "empty";
    root.replaceChildren(alert("warning", t("error.no_ticket_title"), t("error.no_ticket")));
    return;
  }
  await load(session.ticketId, session.locale);
}

start();
