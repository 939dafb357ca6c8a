// The sidebar: connects to the helpdesk (ZAF), asks Deskmate for the ticket's context, renders every panel.

import { Api } from "./api.js";
import { alert, h } from "./dom.js";
import { loadMessages, t } from "./i18n.js";
import { customerPanel, failed, incidentsPanel, recentPanel, requesterPanel, routingPanel, slaPanel } from "./panels.js";
import { requestsPanel } from "./requests.js";
import { autoResize, connect } from "./zaf.js";

const root = document.getElementById("app");
const uiBase = document.querySelector('meta[name="deskmate-ui"]').getAttribute("content");
const api = new Api();
let tickers = [];
setInterval(() => { const now = Date.now(); tickers.forEach((tick) => tick(now)); }, 1000);

function showError(title, body, retry) {
  root.setAttribute("aria-busy", "false");
  root.dataset.state = "error";
  root.replaceChildren(alert("error", title, body),
    retry ? h("button", { class: "dm-button", type: "button", text: t("error.retry"), onclick: retry }) : null);
}

async function load(ticketId, locale) {
  let data;
  try {
    data = await api.ticket(ticketId, locale);
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
  const known = new Set(["routing", "sla", "breaking_news", "customer", "feature_requests"]);
  // A plugin that is enabled but has nothing to say gets its empty state; a disabled one, no section.
  const enabled = new Set(meta.plugins || Object.keys(panels));
  const sections = [
    meta.warning ? alert("warning", t("warning.partial"), meta.warning) : null,
    requesterPanel(ticket, panels.routing),
    enabled.has("routing") ? routingPanel(panels.routing) : null,
    enabled.has("sla") ? slaPanel(panels.sla, tickers) : null,
    enabled.has("breaking_news") ? incidentsPanel(panels.breaking_news) : null,
    enabled.has("customer") ? customerPanel(panels.customer) : null,
    enabled.has("feature_requests") ? requestsPanel(panels.feature_requests, ticket, api, reload) : null,
    recentPanel(ticket),
    ...Object.entries(panels).filter(([name, panel]) => !known.has(name) && panel?.error)
      .map(([name]) => failed(name, name)),
  ];
  root.replaceChildren(...sections.filter(Boolean));
  root.dataset.state = "ready";
  root.setAttribute("aria-busy", "false");
}

async function start() {
  let session;
  try {
    session = await connect();
    await loadMessages(uiBase, session.locale);
  } catch (error) {
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
