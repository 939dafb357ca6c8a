// The breaking-news panel, the plugin's own sidebar module (hook sidebar_module): each live incident with its
// text as written (paragraphs, lists, emphasis, clickable links), not flattened to one line.
//
// The text arrives as parsed blocks (plugins/breaking_news/markup.py), never as HTML: every piece is built
// with text APIs, so nothing an admin or a customer wrote can become markup, and a link is made only for a
// plain http(s) address, opened in a new tab without a handle on this frame.

const SAFE_HREF = /^https?:\/\/[^\s<>"'`\\]+$/i;
const TONES = { outage: "red", degraded: "yellow", maintenance: "blue" };

function inline(h, node) {
  if (!node || typeof node !== "object") return null;
  const words = String(node.text ?? "");
  switch (node.type) {
    case "br": return h("br");
    case "strong": return h("strong", { text: words });
    case "em": return h("em", { text: words });
    case "code": return h("code", { text: words });
    case "link":
      return SAFE_HREF.test(String(node.href || ""))
        ? h("a", { class: "dm-link", href: node.href, target: "_blank", rel: "noopener noreferrer", text: words })
        : document.createTextNode(words);
    default: return document.createTextNode(words);
  }
}

// Paragraphs and bullet lists of inline nodes.
export function richText(h, blocks) {
  return (blocks || []).map((block) => {
    if (block?.type === "ul") {
      return h("ul", { class: "dm-small" },
        (block.items || []).map((item) => h("li", {}, (item || []).map((node) => inline(h, node)))));
    }
    return h("p", { class: "dm-text dm-small" }, (block?.children || []).map((node) => inline(h, node)));
  });
}

export function render({ name, panel, h, t, text, tag, empty, section }) {
  const incidents = panel.data?.incidents || [];
  const title = text(panel.title) || t("breaking_news.title");
  if (!incidents.length) return section(name, title, empty(t("breaking_news.empty")));
  return section(name, title, h("ul", { class: "dm-list", "data-list": "incidents" }, incidents.map((incident) => {
    const severity = `breaking_news.severity.${incident.severity}`;
    const status = `breaking_news.status.${incident.status}`;
    const since = incident.starts_at ? t("breaking_news.since", { time: text({ date: incident.starts_at }) }) : "";
    return h("li", { "data-item": incident.id },
      h("div", { class: "dm-between" }, h("strong", { text: incident.title }),
        tag(text({ t: severity, default: incident.severity }), TONES[incident.severity] || "")),
      h("div", { class: "dm-rich", "data-text": "" }, richText(h, incident.text)),
      h("div", { class: "dm-row dm-small dm-muted" },
        tag(text({ t: status, default: incident.status })),
        h("span", { text: t("breaking_news.tickets", { count: incident.ticket_count ?? 0 }) }),
        since ? h("span", { text: since }) : null,
        incident.this_ticket_is_linked ? tag(t("breaking_news.this_ticket"), "red") : null));
  })));
}
