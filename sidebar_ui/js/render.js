// Plugin panels are data: {"title", "blocks": [...], "empty", "header"} rendered here without knowing the plugin.
// The shape is documented in docs/plugins.md (sidebar_panels); a plugin needing more ships its own module.

import { alert, empty, h, section, tag } from "./dom.js";
import {
  currencySign, formatDate, formatDay, formatDuration, formatMinorUnits, formatNumber, has, label, moneyInput,
  parseMoney, t,
} from "./i18n.js";

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

function list(block, env) {
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
      item.meta?.length ? h("div", { class: "dm-row dm-small dm-muted" }, item.meta.map(inline)) : null,
      item.reply ? replyButton(text(item.reply), env) : null);
  }));
}

// A list item's reply for the requester (an action that finished after its form was closed): one small button.
function replyButton(reply, env) {
  const said = h("span", { class: "dm-small dm-muted", "aria-live": "polite" });
  const button = h("button", { class: "dm-button dm-button--small dm-button--basic", type: "button",
    text: t("form.insert_reply") });
  button.addEventListener("click", async () => {
    button.disabled = true;
    const how = await insertReply(reply, env);
    button.disabled = false;
    said.textContent = { inserted: t("form.inserted"), copied: t("form.copied"), manual: reply }[how];
  });
  return h("div", { class: "dm-row" }, button, said);
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

// A deferred answer's "refresh_seconds", kept between 1 and 60 (0: no refresh), so a wrong value can neither
// hammer the plugin's route nor leave a pending state unseen for long.
function refreshDelay(value) {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(60, Math.max(1, seconds));
}

// A refreshed answer replaces the blocks, except a form the agent is busy with (typing, focused, confirming,
// sending): that one stays as it is, so a refresh never takes what they typed or a confirmation away.
function replaceKeepingForms(holder, nodes) {
  const fresh = document.createDocumentFragment();
  fresh.append(...nodes);
  const current = [...holder.querySelectorAll("[data-form]")];
  for (const node of [...fresh.querySelectorAll("[data-form]")]) {
    const old = current.find((candidate) => candidate.dataset.form === node.dataset.form);
    if (old && formInUse(old)) node.replaceWith(old);
  }
  holder.replaceChildren(fresh);
}

// Loaded after the page shows: GET source (a plugin's sidebar-session route) answers {"blocks", "empty"}, and
// "refresh_seconds" while something is pending: then it is fetched again after that delay and the blocks are
// replaced in place (no skeleton), until an answer has none, the block is gone, or the sidebar renders anew.
function deferred(block, env) {
  const holder = h("div", { "data-deferred": "loading", "aria-busy": "true" },
    h("div", { class: "dm-skeleton" }), h("div", { class: "dm-skeleton dm-skeleton--short" }));
  let refreshes = 0;
  let backoff = 0;
  let timer = null;
  env.signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
  const schedule = (seconds) => {
    if (!seconds || env.signal?.aborted) return;
    timer = setTimeout(() => {
      if (env.signal?.aborted || !holder.isConnected) return;
      refreshes += 1;
      fetchBlocks(false);
    }, seconds * 1000);
  };
  const fetchBlocks = (first) => {
    holder.setAttribute("aria-busy", "true");
    env.api.request("GET", block.source).then((answer) => {
      if (env.signal?.aborted) return;
      const nodes = renderBlocks(answer?.blocks, answer?.empty, env);
      if (first) holder.replaceChildren(...nodes);
      else replaceKeepingForms(holder, nodes);
      holder.dataset.deferred = "ready";
      holder.dataset.refreshes = String(refreshes);
      backoff = 0;
      schedule(refreshDelay(answer?.refresh_seconds));
    }).catch(() => {
      if (first) {
        holder.replaceChildren(alert("error", t("panel.error_title"), t("panel.error_body")));
        holder.dataset.deferred = "error";
        return;
      }
      // A refresh that fails keeps what is shown (the last answer asked to be refreshed): try again, slower.
      backoff = Math.min(60, Math.max(2, backoff * 2 || 5));
      schedule(backoff);
    }).finally(() => holder.setAttribute("aria-busy", "false"));
  };
  fetchBlocks(true);
  return holder;
}

// --- forms ------------------------------------------------------------------------------------------------------

let ids = 0;
const nextId = (prefix) => `dm-${prefix}-${(ids += 1)}`;
const FIELD_KINDS = new Set(["money", "select", "radio", "text", "number"]);
const BUTTON_TONES = { primary: " dm-button--primary", danger: " dm-button--danger" };

// A v4 UUID naming one confirmed request; crypto.randomUUID exists only in a secure context, which a page
// served over plain HTTP (development) is not.
function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formInUse(node) {
  return node.dataset.state !== "idle" || node.dataset.dirty === "true" || node.contains(document.activeElement)
    || (node.dataset.opener === "true" && node.dataset.open === "true");
}

function moneyProblem(parsed, currency) {
  if (parsed.error === "whole_amount") return t("form.whole_amount", { currency: currency || "" });
  if (parsed.error === "too_many_decimals") return t("form.too_many_decimals", { count: parsed.digits });
  return t("form.not_an_amount", { example: moneyInput(Math.round(4.99 * 10 ** parsed.digits), currency) });
}

// One input of a form: its label, help and error line, how to read its value (what is sent) and how to keep
// what was typed (``raw``, a string, for drafts).
function formField(spec, formId) {
  const id = `${formId}-${spec.name.replace(/[^\w-]/g, "_")}`;
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;
  const help = spec.help ? h("p", { class: "dm-hint", id: helpId, text: text(spec.help) }) : null;
  const error = h("p", { class: "dm-field__error", id: errorId, hidden: true });
  const described = [help ? helpId : null, errorId].filter(Boolean).join(" ");
  const optional = spec.required ? null : h("span", { class: "dm-label__optional", text: ` ${t("form.optional")}` });
  const options = Array.isArray(spec.options) ? spec.options : [];
  const isDefault = (option) => spec.value !== undefined && spec.value !== null
    && String(option.value) === String(spec.value);
  let control;
  let inputs;
  let body;
  if (spec.kind === "radio") {
    inputs = options.map((option, index) => h("input", { type: "radio", name: id, value: String(index),
      id: `${id}-${index}`, checked: isDefault(option) }));
    control = h("fieldset", { class: "dm-choices", "aria-describedby": described,
      "aria-required": spec.required ? "true" : null },
      h("legend", { class: "dm-label" }, text(spec.label), optional),
      options.map((option, index) => h("label", { class: "dm-choice", for: `${id}-${index}` }, inputs[index],
        h("span", { text: text(option.text) }))));
    body = [control, help, error];
  } else {
    const common = { class: "dm-input", id, name: spec.name, "aria-describedby": described,
      "aria-required": spec.required ? "true" : null };
    let input;
    if (spec.kind === "select") {
      const chosen = options.findIndex(isDefault);
      input = h("select", { ...common, class: "dm-input dm-select" },
        chosen < 0 ? h("option", { value: "", text: t("form.choose") }) : null,
        options.map((option, index) => h("option", { value: String(index), selected: index === chosen,
          text: text(option.text) })));
    } else if (spec.kind === "number") {
      input = h("input", { ...common, type: "number", step: "any", min: spec.min ?? null, max: spec.max ?? null,
        value: spec.value ?? null });
    } else if (spec.kind === "money") {
      input = h("input", { ...common, type: "text", inputmode: "decimal", autocomplete: "off",
        placeholder: moneyInput(0, spec.currency), value: moneyInput(spec.value, spec.currency) || null });
    } else {
      input = h("input", { ...common, type: "text", autocomplete: "off", value: spec.value ?? null });
    }
    inputs = [input];
    control = input;
    if (spec.kind === "money") {
      const { sign, after } = currencySign(spec.currency);
      const affix = h("span", { class: "dm-input-group__affix", text: sign, title: spec.currency || null });
      control = h("div", { class: `dm-input-group${after ? " dm-input-group--after" : ""}` },
        after ? null : affix, input, after ? affix : null);
    }
    body = [h("label", { class: "dm-label", for: id }, text(spec.label), optional), control, help, error];
  }
  const node = h("div", { class: "dm-field", "data-field": spec.name }, body);
  const chosenIndex = () => (spec.kind === "radio" ? inputs.find((input) => input.checked)?.value ?? ""
    : inputs[0].value);

  function read() {
    const input = inputs[0];
    if (spec.kind === "select" || spec.kind === "radio") {
      const index = chosenIndex();
      return { value: index === "" ? null : options[Number(index)]?.value ?? null };
    }
    if (spec.kind === "number") {
      if (input.validity.badInput) return { error: t("form.not_a_number") };
      const typed = input.value.trim();
      if (!typed) return { value: null };
      const number = Number(typed);
      return Number.isFinite(number) ? { value: number } : { error: t("form.not_a_number") };
    }
    const typed = input.value.trim();
    if (!typed) return { value: null };
    if (spec.kind === "money") {
      const parsed = parseMoney(typed, spec.currency);
      return parsed.error ? { error: moneyProblem(parsed, spec.currency) } : { value: parsed.minor };
    }
    return { value: typed };
  }

  // The client's checks are a courtesy (required, min, max); the plugin's route decides.
  function check(value) {
    if (value === null) {
      if (!spec.required) return null;
      return spec.kind === "select" || spec.kind === "radio" ? t("form.choose_one") : t("form.required");
    }
    if (spec.kind !== "money" && spec.kind !== "number") return null;
    const show = (limit) => (spec.kind === "money" ? formatMinorUnits(limit, spec.currency) : formatNumber(limit));
    if (typeof spec.min === "number" && value < spec.min) return t("form.too_small", { limit: show(spec.min) });
    if (typeof spec.max === "number" && value > spec.max) return t("form.too_large", { limit: show(spec.max) });
    return null;
  }

  return {
    name: spec.name,
    node,
    read,
    check,
    focus: () => inputs[0]?.focus(),
    showError(message) {
      error.textContent = message;
      error.hidden = !message;
      node.classList.toggle("dm-field--invalid", Boolean(message));
      (spec.kind === "radio" ? [control] : inputs).forEach((input) => {
        if (message) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      });
    },
    get raw() {
      return spec.kind === "select" || spec.kind === "radio" ? chosenIndex() : inputs[0].value;
    },
    set raw(value) {
      if (spec.kind === "radio") inputs.forEach((input) => { input.checked = input.value === value; });
      else if (spec.kind === "select" && value === "" && !inputs[0].querySelector('option[value=""]')) return;
      else inputs[0].value = value;
    },
  };
}

// Where a reply goes: the helpdesk's comment box through ZAF, else the clipboard, else the agent copies it.
async function insertReply(reply, env) {
  if (env.zaf) {
    try {
      await env.zaf.invoke("ticket.comment.appendText", reply);
      return "inserted";
    } catch (error) {
      // An old helpdesk or a location without a comment box: the clipboard still works.
    }
  }
  try {
    await navigator.clipboard.writeText(reply);
    return "copied";
  } catch (error) {
    return "manual";
  }
}

// What an action answered: its message, "Insert reply" when it offered a reply, and "Dismiss". Kept in
// env.notes by panel, so the reload that follows an action shows it again at the top of the panel. Green when
// the answer was a 200 (done); blue for a 202 (accepted, not done yet: waiting for a lead, say), which must not
// read as a success, then or later.
function outcome(note, onDismiss) {
  const said = h("p", { class: "dm-small", "aria-live": "polite" });
  const extra = h("div");
  const insert = note.reply ? h("button", { class: "dm-button dm-button--small dm-button--primary", type: "button",
    text: note.inserted ? t("form.insert_again") : t("form.insert_reply") }) : null;
  const dismiss = h("button", { class: "dm-button dm-button--small dm-button--basic", type: "button",
    text: t("form.dismiss") });
  const box = h("div", { class: `dm-alert dm-alert--${note.pending ? "info" : "success"} dm-note`, role: "status",
    tabindex: "-1",
    "data-note": "" }, h("p", { class: "dm-alert__title", text: note.message }),
  h("div", { class: "dm-form-actions" }, insert, dismiss), said, extra);
  insert?.addEventListener("click", async () => {
    insert.disabled = true;
    const how = await insertReply(note.reply, note.env);
    insert.disabled = false;
    extra.replaceChildren();
    if (how === "manual") {
      const copy = h("textarea", { class: "dm-input dm-note__reply", readonly: true, rows: "4",
        "aria-label": t("form.reply") });
      copy.value = note.reply;
      extra.append(copy);
      copy.select();
    } else {
      note.inserted = true;
      insert.textContent = t("form.insert_again");
    }
    said.textContent = { inserted: t("form.inserted"), copied: t("form.copied"), manual: t("form.copy_by_hand") }[how];
  });
  dismiss.addEventListener("click", () => {
    onDismiss();
    box.remove();
  });
  return box;
}

const NOTES_KEPT = 3;

function addNote(env, note) {
  if (!env.notes) return;
  const list = [...(env.notes.get(env.panel) || []), note].slice(-NOTES_KEPT);
  env.notes.set(env.panel, list);
}

// The panel's notes under its title; one just made takes the focus, so the agent (or a screen reader) lands
// on what happened rather than on a reloaded page.
function withNotes(node, env) {
  const list = env.notes?.get(env.panel) || [];
  if (!list.length || !(node instanceof Element)) return node;
  const boxes = list.map((note) => {
    const box = outcome(note, () => env.notes.set(env.panel, (env.notes.get(env.panel) || [])
      .filter((kept) => kept !== note)));
    if (note.fresh) {
      note.fresh = false;
      requestAnimationFrame(() => box.isConnected && box.focus());
    }
    return box;
  });
  const title = node.querySelector(":scope > .dm-section__title");
  if (title) title.after(...boxes);
  else node.prepend(...boxes);
  return node;
}

function errorText(error) {
  if (!error?.status) return t("form.network");
  return text(error.detail?.message) || error.message || "";
}

// A 5xx, a timeout, a conflict or no answer at all may have done the work: a retry must resend the same request.
function retryable(error) {
  return !error?.status || error.status >= 500 || [408, 409, 425, 429].includes(error.status);
}

// Fields -> POST preview -> a confirmation (what exactly will happen) -> POST post with one request_id per
// preview -> the answer's message (and reply) -> the ticket reloads. Refusals are shown beside their field or
// under the form; what was typed stays.
function form(block, env) {
  const formId = nextId("form");
  const draftKey = `${env.panel || ""}/${block.name || formId}`;
  const draft = env.drafts?.get(draftKey);
  const fields = (block.fields || []).filter((spec) => spec && spec.name && FIELD_KINDS.has(spec.kind))
    .map((spec) => formField(spec, formId));
  const tone = BUTTON_TONES[block.tone] || "";
  const submit = h("button", { class: `dm-button dm-button--small${tone}`, type: "submit",
    text: text(block.submit) || t("form.continue") });
  const opener = block.open ? h("button", { class: "dm-button dm-button--small", type: "button",
    "aria-expanded": "false", "aria-controls": formId, text: text(block.open) }) : null;
  const close = opener ? h("button", { class: "dm-button dm-button--small dm-button--basic", type: "button",
    text: t("form.cancel") }) : null;
  const progress = h("span", { class: "dm-small dm-muted", "aria-live": "polite" });
  const fieldset = h("fieldset", { class: "dm-form__fields" }, fields.map((field) => field.node));
  const confirmSlot = h("div");
  const status = h("div", { class: "dm-form__status", "aria-live": "polite" });
  const buttons = h("div", { class: "dm-form-actions" }, submit, close, progress);
  const body = h("form", { class: "dm-form__body", id: formId, novalidate: true,
    "aria-label": text(block.title) || text(block.open) || text(block.submit) || null },
  fieldset, buttons, confirmSlot, status);
  const node = h("div", { class: "dm-form", "data-form": block.name ?? formId, "data-state": "idle",
    "data-opener": opener ? "true" : null }, opener, body);

  const saveDraft = () => env.drafts?.set(draftKey, { open: node.dataset.open === "true",
    dirty: node.dataset.dirty === "true", raw: Object.fromEntries(fields.map((field) => [field.name, field.raw])) });
  const setOpen = (open) => {
    node.dataset.open = String(open);
    body.hidden = !open;
    if (opener) {
      opener.hidden = open;
      opener.setAttribute("aria-expanded", String(open));
    }
  };
  const setState = (state) => {
    node.dataset.state = state;
    const idle = state === "idle";
    fieldset.disabled = !idle;
    submit.disabled = !idle;
    if (close) close.disabled = !idle;
    // While the confirmation is shown it has the buttons: the form's own would only be a second "Cancel".
    buttons.hidden = !idle && state !== "checking";
    progress.textContent = state === "checking" ? t("form.checking") : "";
  };
  const clearErrors = () => {
    fields.forEach((field) => field.showError(""));
    status.replaceChildren();
  };
  const showFailure = (error) => {
    const target = error?.status === 422 && error.field ? fields.find((field) => field.name === error.field) : null;
    if (target) {
      target.showError(errorText(error));
      target.focus();
    } else {
      status.replaceChildren(alert("error", t("action.failed"), errorText(error)));
    }
  };

  if (draft) {
    fields.forEach((field) => { if (field.name in draft.raw) field.raw = draft.raw[field.name]; });
    if (draft.dirty) node.dataset.dirty = "true";
  }
  setOpen(!opener || Boolean(draft?.open));
  opener?.addEventListener("click", () => {
    setOpen(true);
    saveDraft();
    fields[0]?.focus();
  });
  close?.addEventListener("click", () => {
    setOpen(false);
    clearErrors();
    saveDraft();
    opener.focus();
  });
  body.addEventListener("input", () => {
    node.dataset.dirty = "true";
    saveDraft();
  });

  const confirmation = (answer, values) => {
    const requestId = newRequestId(); // one per preview: a double click or a retry resends this one
    const textId = `${formId}-confirm`;
    const confirm = h("button", { class: `dm-button dm-button--small dm-button--primary${tone}`, type: "button",
      text: t("form.confirm") });
    const cancel = h("button", { class: "dm-button dm-button--small dm-button--basic", type: "button",
      text: t("form.cancel") });
    const busy = h("span", { class: "dm-small dm-muted", "aria-live": "polite" });
    const trouble = h("div", { "aria-live": "assertive" });
    const box = h("div", { class: `dm-confirm${block.tone === "danger" ? " dm-confirm--danger" : ""}`,
      role: "alertdialog", "aria-label": t("form.confirm_title"), "aria-describedby": textId, tabindex: "-1" },
    h("p", { class: "dm-confirm__text", id: textId, text: text(answer.confirm) }),
    ...renderBlocks(answer.blocks, null, env),
    h("div", { class: "dm-form-actions" }, confirm, cancel, busy), trouble);
    const back = () => {
      confirmSlot.replaceChildren();
      setState("idle");
      submit.focus();
    };
    cancel.addEventListener("click", back);
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && node.dataset.state === "confirming") back();
    });
    confirm.addEventListener("click", async () => {
      if (node.dataset.state !== "confirming") return;
      setState("sending");
      confirm.disabled = true;
      cancel.disabled = true;
      busy.textContent = t("form.sending");
      trouble.replaceChildren();
      let answer;
      try {
        answer = await env.api.request("POST", block.post, { ...(block.body || {}), ...values,
          request_id: requestId });
      } catch (error) {
        busy.textContent = "";
        if (retryable(error)) {
          setState("confirming");
          confirm.disabled = false;
          cancel.disabled = false;
          trouble.replaceChildren(alert("error", t("action.failed"), `${errorText(error)} ${t("form.retry_safe")}`));
          return;
        }
        confirmSlot.replaceChildren();
        setState("idle");
        showFailure(error);
        return;
      }
      setState("done");
      env.drafts?.delete(draftKey);
      const note = { message: text(answer?.message) || t("form.done"), reply: text(answer?.reply), fresh: true,
        pending: answer?.httpStatus === 202, env };
      addNote(env, note);
      // Shown here until the reload puts it at the top of the panel.
      confirmSlot.replaceChildren(outcome({ ...note, fresh: false }, () => {}));
      await env.reload?.();
    });
    confirmSlot.replaceChildren(box);
    setState("confirming");
    box.focus();
  };

  body.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (node.dataset.state !== "idle") return;
    clearErrors();
    const values = {};
    let first = null;
    for (const field of fields) {
      const read = field.read();
      const problem = read.error || field.check(read.value);
      if (problem) {
        field.showError(problem);
        first = first || field;
      } else {
        values[field.name] = read.value;
      }
    }
    if (first) {
      first.focus();
      return;
    }
    setState("checking");
    try {
      const answer = await env.api.request("POST", block.preview, { ...(block.body || {}), ...values });
      confirmation(answer || {}, values);
    } catch (error) {
      setState("idle");
      showFailure(error);
    }
  });
  return node;
}

const RENDERERS = { facts, badges, text: paragraph, list, link, alert: notice, countdown, actions, deferred, form };

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
  const panelEnv = { ...env, panel: name };
  if (module) {
    try {
      return withNotes(module.render({ name, panel, ticket: env.ticket, api: env.api, reload: env.reload,
        h, t, text, label, tag, alert, empty, section, renderBlocks: (blocks, emptyText) =>
          renderBlocks(blocks, emptyText, panelEnv) }), panelEnv);
    } catch (error) {
      return failed(name, panel);
    }
  }
  return withNotes(section(name, titleOf(name, panel), ...renderBlocks(panel.blocks, panel.empty, panelEnv)),
    panelEnv);
}

// Badges plugins add to the requester header ("Premium partner").
export function headerBadges(panels) {
  return Object.values(panels || {}).flatMap((panel) => (panel && !panel.error && panel.header?.badges) || [])
    .map(badge);
}
