// The core's own sections: the requester header and the requester's recent tickets (plugins' panels are data,
// rendered by render.js).

import { empty, h, section, tag } from "./dom.js";
import { formatDate, label, t } from "./i18n.js";

// ``badges``: what plugins add to the header (panel.header.badges), already rendered as tags.
export function requesterPanel(ticket, badges) {
  const requester = ticket.requester;
  const organization = ticket.organization;
  return h("section", { class: "dm-section", "data-panel": "requester", "aria-label": t("requester.title") },
    h("div", { class: "dm-between" },
      h("p", { class: "dm-requester__name", text: requester?.name || t("requester.unknown") }),
      badges.length ? h("span", { class: "dm-badges" }, badges) : null),
    requester?.email ? h("div", { class: "dm-muted dm-small", text: requester.email }) : null,
    organization ? h("div", { class: "dm-small", text: organization.name }) : null,
    h("div", { class: "dm-row" },
      tag(label("status", ticket.status), `status dm-status dm-status--${ticket.status || "new"}`),
      ticket.priority ? tag(label("priority", ticket.priority)) : null));
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
