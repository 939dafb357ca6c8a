// Linked feature requests: link, unlink, create, and suggestions as the agent types.

import { alert, empty, h, section, tag } from "./dom.js";
import { label, t } from "./i18n.js";

const DEFAULT_API = {
  search: "/sidebar/api/feature-requests/search",
  suggestions: "/sidebar/api/feature-requests/suggestions",
  link: "/sidebar/api/feature-requests/link",
  unlink: "/sidebar/api/feature-requests/unlink",
  create: "/sidebar/api/feature-requests",
};

export function requestsPanel(panel, ticket, api, onChange) {
  const title = t("requests.title");
  if (!panel) return null;
  if (panel.error) return section("requests", title, alert("error", t("panel.error_title"), t("panel.error_body")));
  const routes = { ...DEFAULT_API, ...(panel.api || {}) };
  const status = h("div", { "aria-live": "polite" });
  const linkedIds = new Set((panel.linked || []).map((request) => request.id));
  const who = {
    ticket_id: ticket.id,
    requester_id: ticket.requester_id ?? undefined,
    organization_id: ticket.organization_id ?? undefined,
  };

  async function act(button, path, body) {
    button.disabled = true;
    status.replaceChildren();
    try {
      await api.request("POST", path, body);
      await onChange();
    } catch (error) {
      status.replaceChildren(alert("error", t("requests.failed"), error.message));
      button.disabled = false;
    }
  }

  const row = (request, action) => h("li", { "data-request": request.id },
    h("div", { class: "dm-between" },
      h("span", {}, h("strong", { text: request.title }), h("span", { class: "dm-muted", text: ` #${request.id}` })),
      action),
    h("div", { class: "dm-row dm-small dm-muted" },
      request.status ? tag(label("requests.status", request.status), request.status === "released" ? "green" : "") : null,
      t("requests.requesters", { count: request.requesters ?? 0 })));

  const linkButton = (request) => {
    const button = h("button", { class: "dm-button dm-button--small", type: "button", text: t("requests.link"),
      "aria-label": t("requests.link_named", { title: request.title }) });
    button.addEventListener("click", () => act(button, routes.link, { ...who, feature_request_id: request.id }));
    return button;
  };
  const unlinkButton = (request) => {
    const button = h("button", { class: "dm-button dm-button--small dm-button--danger", type: "button",
      text: t("requests.unlink"), "aria-label": t("requests.unlink_named", { title: request.title }) });
    button.addEventListener("click", () => act(button, routes.unlink,
      { ticket_id: ticket.id, feature_request_id: request.id }));
    return button;
  };

  const linked = panel.linked || [];
  const suggestions = (panel.suggestions || []).filter((request) => !linkedIds.has(request.id));
  const results = h("ul", { class: "dm-list", "data-list": "search-results" });
  const search = h("input", { class: "dm-input", type: "search", id: "dm-request-search",
    placeholder: t("requests.search_placeholder"), autocomplete: "off" });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = search.value.trim();
      if (!query) { results.replaceChildren(); return; }
      try {
        const answer = await api.request("GET", `${routes.search}?q=${encodeURIComponent(query)}`);
        const found = (answer.results || []).filter((request) => !linkedIds.has(request.id));
        results.replaceChildren(...(found.length ? found.map((request) => row(request, linkButton(request)))
          : [h("li", {}, empty(t("requests.no_results")))]));
      } catch (error) {
        results.replaceChildren(h("li", {}, alert("error", t("requests.failed"), error.message)));
      }
    }, 250);
  });

  const form = h("form", { class: "dm-create", hidden: true });
  const titleInput = h("input", { class: "dm-input", id: "dm-request-title", required: true, maxlength: 200 });
  const description = h("textarea", { class: "dm-input", id: "dm-request-description", rows: 3 });
  const submit = h("button", { class: "dm-button dm-button--primary dm-button--small", type: "submit",
    text: t("requests.create_and_link") });
  const cancel = h("button", { class: "dm-button dm-button--small", type: "button", text: t("requests.cancel") });
  form.append(
    h("label", { class: "dm-label", for: "dm-request-title", text: t("requests.new_title") }), titleInput,
    h("label", { class: "dm-label", for: "dm-request-description", text: t("requests.new_description") }),
    description, h("div", { class: "dm-form-actions" }, submit, cancel));
  const open = h("button", { class: "dm-button dm-button--small", type: "button", text: t("requests.new") });
  open.addEventListener("click", () => {
    form.hidden = false;
    open.hidden = true;
    titleInput.value = search.value.trim() || ticket.subject || "";
    titleInput.focus();
  });
  cancel.addEventListener("click", () => { form.hidden = true; open.hidden = false; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!titleInput.value.trim()) return;
    act(submit, routes.create, { ...who, title: titleInput.value.trim(), description: description.value.trim() });
  });

  return section("requests", title,
    status,
    linked.length ? h("ul", { class: "dm-list", "data-list": "linked" }, linked.map((r) => row(r, unlinkButton(r))))
      : empty(t("requests.none_linked")),
    suggestions.length ? h("h3", { class: "dm-subtitle", text: t("requests.suggestions") }) : null,
    suggestions.length ? h("ul", { class: "dm-list", "data-list": "suggestions" },
      suggestions.map((r) => row(r, linkButton(r)))) : null,
    h("label", { class: "dm-label", for: "dm-request-search", text: t("requests.search") }),
    search, results, h("div", { class: "dm-form-actions" }, open), form);
}
