// The read-only panels: requester, routing, first-reply clock, incidents, customer, recent tickets.

import { alert, empty, h, section, tag } from "./dom.js";
import { formatDate, formatDay, formatDuration, formatMoney, label, t } from "./i18n.js";

export function failed(name, title) {
  return section(name, title, alert("error", t("panel.error_title"), t("panel.error_body")));
}

export function requesterPanel(ticket, routing) {
  const requester = ticket.requester;
  const organization = ticket.organization;
  const premium = routing && routing.segment === "premium_partner";
  return h("section", { class: "dm-section", "data-panel": "requester", "aria-label": t("requester.title") },
    h("div", { class: "dm-between" },
      h("p", { class: "dm-requester__name", text: requester?.name || t("requester.unknown") }),
      premium ? tag(label("segment", routing.segment), "premium") : null),
    requester?.email ? h("div", { class: "dm-muted dm-small", text: requester.email }) : null,
    organization ? h("div", { class: "dm-small", text: organization.name }) : null,
    h("div", { class: "dm-row" },
      tag(label("status", ticket.status), `status dm-status dm-status--${ticket.status || "new"}`),
      ticket.priority ? tag(label("priority", ticket.priority)) : null));
}

export function routingPanel(panel) {
  const title = t("routing.title");
  if (panel?.error) return failed("routing", title);
  if (!panel) return section("routing", title, empty(t("routing.empty")));
  const variant = panel.segment === "premium_partner" ? "premium" : "blue";
  return section("routing", title,
    h("div", { class: "dm-row" },
      panel.segment ? tag(label("segment", panel.segment), variant) : null,
      panel.tier ? tag(panel.tier) : null,
      panel.status && panel.status !== "applied" ? tag(label("routing.status", panel.status), "yellow") : null),
    panel.reason ? h("p", { class: "dm-text", text: t("routing.reason", { reason: panel.reason }) }) : null,
    panel.group ? h("p", { class: "dm-text dm-small dm-muted", text: t("routing.group", { group: panel.group }) }) : null);
}

// The first-reply clock ticks in the page: ``tickers`` are called every second with the current time.
export function slaPanel(panel, tickers) {
  const title = t("sla.title");
  if (panel?.error) return failed("sla", title);
  if (!panel) return section("sla", title, empty(t("sla.empty")));
  const target = panel.target_minutes ? t("sla.target", { time: formatDuration(panel.target_minutes * 60) }) : "";
  if (panel.state === "answered" || panel.replied_at) {
    const met = panel.met_target !== false && !panel.breached;
    return section("sla", title,
      h("div", { class: `dm-clock ${met ? "dm-clock--ok" : "dm-clock--late"}`,
        text: t("sla.answered_in", { time: formatDuration((panel.reply_minutes || 0) * 60) }) }),
      h("div", { class: "dm-row" }, tag(met ? t("sla.met") : t("sla.missed"), met ? "green" : "red"),
        target ? h("span", { class: "dm-small dm-muted", text: target }) : null));
  }
  if (panel.state === "closed" || !panel.due_at) {
    return section("sla", title, empty(t("sla.closed")));
  }
  const due = Date.parse(panel.due_at);
  const clock = h("div", { class: "dm-clock", role: "timer", "aria-live": "off" });
  const update = (now) => {
    const left = (due - now) / 1000;
    clock.dataset.secondsLeft = String(Math.round(left));
    clock.textContent = left >= 0 ? t("sla.left", { time: formatDuration(left) })
      : t("sla.overdue", { time: formatDuration(-left) });
    clock.className = `dm-clock ${left < 0 ? "dm-clock--late" : left <= 30 * 60 ? "dm-clock--warn" : "dm-clock--ok"}`;
  };
  update(Date.now());
  tickers.push(update);
  return section("sla", title, clock,
    h("div", { class: "dm-small dm-muted", text: [target, t("sla.due", { time: formatDate(panel.due_at) })]
      .filter(Boolean).join(" · ") }),
    panel.business_hours ? h("div", { class: "dm-small dm-muted", text: t("sla.business_hours") }) : null);
}

export function incidentsPanel(panel) {
  const title = t("incidents.title");
  if (panel?.error) return failed("incidents", title);
  const incidents = panel?.incidents || [];
  if (!incidents.length) return section("incidents", title, empty(t("incidents.empty")));
  const variant = { outage: "red", degraded: "yellow", maintenance: "blue" };
  return section("incidents", title, h("ul", { class: "dm-list" }, incidents.map((incident) =>
    h("li", { "data-incident": incident.id },
      h("div", { class: "dm-between" }, h("strong", { text: incident.title }),
        tag(label("incidents.severity", incident.severity), variant[incident.severity] || "")),
      incident.summary ? h("p", { class: "dm-text dm-small", text: incident.summary }) : null,
      h("div", { class: "dm-row dm-small dm-muted" },
        tag(label("incidents.status", incident.status)),
        t("incidents.tickets", { count: incident.ticket_count ?? 0 }),
        incident.this_ticket_is_linked ? tag(t("incidents.this_ticket"), "red") : null)))));
}

export function customerPanel(panel) {
  const title = t("customer.title");
  if (!panel) return null;
  if (panel.error && !panel.state) return failed("customer", title);
  if (panel.state === "error") {
    return section("customer", title, alert("warning", t("customer.unavailable"),
      label("customer.error", panel.error || "unavailable")));
  }
  if (panel.state !== "ok") return section("customer", title, empty(label("customer.state", panel.state)));
  const subscription = panel.subscription || {};
  const facts = h("dl", { class: "dm-facts" },
    h("dt", { text: t("customer.plan") }), h("dd", {}, panel.plan ? tag(panel.plan, "blue") : t("customer.none")),
    h("dt", { text: t("customer.subscription") }),
    h("dd", {}, subscription.status ? tag(label("customer.subscription_status", subscription.status),
      subscription.status === "active" ? "green" : subscription.status === "past_due" ? "red" : "yellow")
      : t("customer.none"),
      subscription.renews_at ? h("span", { class: "dm-small dm-muted",
        text: " " + t("customer.renews", { date: formatDay(subscription.renews_at) }) }) : null));
  const purchases = (panel.purchases || []).map((item) => h("li", {},
    h("div", { class: "dm-between" }, h("span", { text: item.title || item.description || "" }),
      h("span", { text: formatMoney(item.amount, item.currency) })),
    h("div", { class: "dm-small dm-muted" }, item.kind ? label("customer.kind", item.kind) : "",
      item.date ? ` · ${formatDay(item.date)}` : "")));
  const refunds = (panel.refunds || []).map((item) => h("li", {},
    h("div", { class: "dm-between" }, h("span", { text: item.title || item.reason || t("customer.refund") }),
      h("span", { text: formatMoney(item.amount, item.currency) })),
    h("div", { class: "dm-small dm-muted" }, item.date ? formatDay(item.date) : "",
      item.status ? ` · ${label("customer.refund_status", item.status)}` : "")));
  const codes = (panel.promo_codes || []).map((code) =>
    tag(code.discount ? `${code.code} · ${code.discount}` : code.code, code.status === "redeemed" ? "" : "green"));
  // Only what the customer has: three empty lists would push the panels below out of sight.
  const lists = [
    purchases.length ? [h("h3", { class: "dm-subtitle", text: t("customer.purchases") }),
      h("ul", { class: "dm-list", "data-list": "purchases" }, purchases)] : null,
    refunds.length ? [h("h3", { class: "dm-subtitle", text: t("customer.refunds") }),
      h("ul", { class: "dm-list", "data-list": "refunds" }, refunds)] : null,
    codes.length ? [h("h3", { class: "dm-subtitle", text: t("customer.promo_codes") }),
      h("div", { class: "dm-row", "data-list": "promo-codes" }, codes)] : null,
  ].filter(Boolean);
  return section("customer", title, facts,
    ...(lists.length ? lists.flat() : [h("p", { class: "dm-empty dm-text", text: t("customer.no_activity") })]));
}

export function recentPanel(ticket) {
  const title = t("recent.title");
  const recent = ticket.recent_tickets || [];
  if (!recent.length) return section("recent", title, empty(t("recent.empty")));
  const base = ticket.url ? ticket.url.replace(/\/\d+$/, "") : "";
  return section("recent", title, h("ul", { class: "dm-list" }, recent.map((item) =>
    h("li", {},
      h("div", { class: "dm-between" },
        h("a", { class: "dm-link", href: base ? `${base}/${item.id}` : "#", target: "_top",
          text: `#${item.id} ${item.subject || ""}`.trim() }),
        tag(label("status", item.status), `status dm-status dm-status--${item.status || "new"}`)),
      item.updated_at ? h("div", { class: "dm-small dm-muted", text: formatDate(item.updated_at) }) : null))));
}
