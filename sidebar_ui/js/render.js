// Plugin panels are data: {"title", "blocks": [...], "empty", "header"} rendered here without knowing the plugin.
// The shape is documented in docs/plugins.md (sidebar_panels); a plugin needing more ships its own module.

import { alert, empty, h, section, tag } from "./dom.js";
import { formatDate, formatDay, formatDuration, formatMinorUnits, has, label, t } from "./i18n.js";

const TONES = new Set(["green", "red", "yellow", "blue", "premium"]);
const CLOCK_TONES = { green: "ok", yellow: "warn", red: "late" };

// A text: a string, {"t": key, "args": {...}, "default": text}, a typed value ({"date"}, {"day"}, {"money",
// "currency"}, {"duration_seconds"}), or a list of texts joined with " · ".
export function text(value) {
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(text).filter(Boolean).join(" · ");
  if (typeof value !== "object") return String(value);
  if ("t" in value) {
    const args = {};
    for (const [name, arg] of Object.entries(value.args || {})) args[name] = name === "count" ? arg : text(arg);
    if (!has(value.t) && value.default !== undefined) return text(value.default);
    return t(value.t, args);
  }
  if ("date" in value) return formatDate(value.date);
  if ("day" in value) return formatDay(value.day);
  if ("money" in value) return formatMinorUnits(value.money, value.currency);
  if ("duration_seconds" in value) return formatDuration(value.duration_seconds);
  return "";
}

function tone(name) {
  return TONES.has(name) ? name : "";
}

function badge(item) {
  return tag(text(item.text), tone(item.tone));
}

// An inline piece of a row: a text, or {"badge": text, "tone"} as a tag.
function inline(piece) {
  if (piece && typeof piece === "object" && "badge" in piece) return tag(text(piece.badge), tone(piece.tone));
  const shown = text(piece);
  return shown ? h("span", { text: shown }) : null;
}

function subtitle(block) {
  return block.title ? h("h3", { class: "dm-subtitle", text: text(block.title) }) : null;
}

function facts(block) {
  return h("dl", { class: "dm-facts", "data-list": block.name },
    (block.rows || []).flatMap((row) => [
      h("dt", { text: text(row.label) }),
      h("dd", {},
        row.tone ? tag(text(row.value), tone(row.tone)) : text(row.value),
        row.note ? h("span", { class: "dm-small dm-muted", text: " " + text(row.note) }) : null),
    ]));
}

function badges(block) {
  return h("div", { class: "dm-row", "data-list": block.name }, (block.items || []).map(badge),
    block.note ? h("span", { class: "dm-small dm-muted", text: text(block.note) }) : null);
}

function paragraph(block) {
  if (block.large) {
    const variant = CLOCK_TONES[block.tone] ? ` dm-clock--${CLOCK_TONES[block.tone]}` : "";
    return h("div", { class: `dm-clock${variant}`, text: text(block.text) });
  }
  const classes = ["dm-text", block.small ? "dm-small" : "", block.muted ? "dm-muted" : "",
    block.empty ? "dm-empty" : ""].filter(Boolean).join(" ");
  return h("p", { class: classes, text: text(block.text) });
}

function list(block) {
  return h("ul", { class: "dm-list", "data-list": block.name }, (block.items || []).map((item) => {
    const title = text(item.title);
    const heading = item.href
      ? h("a", { class: "dm-link", href: item.href, target: "_top", rel: "noopener", text: title })
      : h(item.strong ? "strong" : "span", { text: title });
    return h("li", { "data-item": item.id ?? null },
      h("div", { class: "dm-between" }, heading,
        item.aside ? h("span", { text: text(item.aside) }) : null,
        item.badge ? badge(item.badge) : null),
      item.text ? h("p", { class: "dm-text dm-small", text: text(item.text) }) : null,
      item.note ? h("div", { class: "dm-small dm-muted", text: text(item.note) }) : null,
      item.meta?.length ? h("div", { class: "dm-row dm-small dm-muted" }, item.meta.map(inline)) : null);
  }));
}

function link(block) {
  return h("p", { class: "dm-text" },
    h("a", { class: "dm-link", href: block.href, target: "_top", rel: "noopener", text: text(block.text) }));
}

function notice(block) {
  const kind = { red: "error", yellow: "warning" }[block.tone] || block.tone || "warning";
  return alert(kind, text(block.title), text(block.text));
}

// Ticks every second: "2 h 10 min left", amber under warn_seconds (30 minutes), red and "Overdue by" after.
function countdown(block, env) {
  const due = Date.parse(block.due_at);
  const warn = block.warn_seconds ?? 30 * 60;
  const clock = h("div", { class: "dm-clock", role: "timer", "aria-live": "off" });
  const say = (value, key, time) => (value && typeof value === "object" && value.t
    ? t(value.t, { ...(value.args || {}), time }) : t(key, { time }));
  const update = (now) => {
    const left = (due - now) / 1000;
    clock.dataset.secondsLeft = String(Math.round(left));
    clock.textContent = left >= 0 ? say(block.left, "countdown.left", formatDuration(left))
      : say(block.overdue, "countdown.overdue", formatDuration(-left));
    clock.className = `dm-clock ${left < 0 ? "dm-clock--late" : left <= warn ? "dm-clock--warn" : "dm-clock--ok"}`;
  };
  if (Number.isNaN(due)) return null;
  update(Date.now());
  env.tickers.push(update);
  return clock;
}

// Buttons that POST {body} to a plugin's route (after an optional confirmation), then reload the ticket.
function actions(block, env) {
  const status = h("div", { "aria-live": "polite" });
  const buttons = (block.items || []).map((action) => {
    const variant = { primary: " dm-button--primary", danger: " dm-button--danger" }[action.tone] || "";
    const button = h("button", { class: `dm-button dm-button--small${variant}`, type: "button",
      text: text(action.text) });
    button.addEventListener("click", async () => {
      if (action.confirm && !window.confirm(text(action.confirm))) return;
      button.disabled = true;
      status.replaceChildren();
      try {
        await env.api.request("POST", action.post, action.body || {});
        await env.reload();
      } catch (error) {
        status.replaceChildren(alert("error", t("action.failed"), error.message));
        button.disabled = false;
      }
    });
    return button;
  });
  return h("div", {}, h("div", { class: "dm-form-actions" }, buttons), status);
}

// Loaded after the page shows: GET source (a plugin's sidebar-session route) answers {"blocks", "empty"}.
function deferred(block, env) {
  const holder = h("div", { "data-deferred": "loading", "aria-busy": "true" },
    h("div", { class: "dm-skeleton" }), h("div", { class: "dm-skeleton dm-skeleton--short" }));
  env.api.request("GET", block.source).then((answer) => {
    holder.replaceChildren(...renderBlocks(answer?.blocks, answer?.empty, env));
    holder.dataset.deferred = "ready";
  }).catch(() => {
    holder.replaceChildren(alert("error", t("panel.error_title"), t("panel.error_body")));
    holder.dataset.deferred = "error";
  }).finally(() => holder.setAttribute("aria-busy", "false"));
  return holder;
}

const RENDERERS = { facts, badges, text: paragraph, list, link, alert: notice, countdown, actions, deferred };

export function renderBlocks(blocks, emptyText, env) {
  const nodes = (blocks || []).flatMap((block) => {
    const render = RENDERERS[block?.type];
    if (!render) return [];
    const node = render(block, env);
    return node ? [subtitle(block), node].filter(Boolean) : [];
  });
  if (nodes.length) return nodes;
  return emptyText ? [empty(text(emptyText))] : [];
}

function titleOf(name, panel) {
  if (panel?.title) return text(panel.title);
  return has(`${name}.title`) ? t(`${name}.title`) : label("plugin", name);
}

export function failed(name, panel) {
  return section(name, titleOf(name, panel), alert("error", t("panel.error_title"), t("panel.error_body")));
}

// One plugin's section: its error, its empty text (a null panel shows "<plugin>.empty" when it has one), its
// own module's rendering, or its blocks.
export function renderPanel(name, panel, env, module) {
  if (panel?.error) return failed(name, panel);
  if (!panel) {
    return has(`${name}.empty`) ? section(name, titleOf(name, panel), empty(t(`${name}.empty`))) : null;
  }
  if (module) {
    try {
      return module.render({ name, panel, ticket: env.ticket, api: env.api, reload: env.reload,
        h, t, text, label, tag, alert, empty, section, renderBlocks: (blocks, emptyText) =>
          renderBlocks(blocks, emptyText, env) });
    } catch (error) {
      return failed(name, panel);
    }
  }
  return section(name, titleOf(name, panel), ...renderBlocks(panel.blocks, panel.empty, env));
}

// Badges plugins add to the requester header ("Premium partner").
export function headerBadges(panels) {
  return Object.values(panels || {}).flatMap((panel) => (panel && !panel.error && panel.header?.badges) || [])
    .map(badge);
}
