// The feature-requests panel, the plugin's own sidebar module (hook sidebar_module, served by the core at
// /sidebar/ui/plugins/feature_requests/panel.js): linked requests with unlink, suggestions with link, a search
// as the agent types, and "New feature request" (create and link). The sidebar calls render(env) with the
// panel, the ticket, the api client, the h/t/label/tag/alert/empty/section helpers and reload; no imports.

const DEFAULT_API = {
  search: "/sidebar/api/feature-requests/search",
  suggestions: "/sidebar/api/feature-requests/suggestions",
  link: "/sidebar/api/feature-requests/link",
  unlink: "/sidebar/api/feature-requests/unlink",
  create: "/sidebar/api/feature-requests",
};

export function render({ name, panel, ticket, api, reload: onChange, h, t, label, tag, alert, empty, section }) {
  const data = panel.data || {};
  const title = t("feature_requests.title");
  const routes = { ...DEFAULT_API, ...(data.api || {}) };
  const status = h("div", { "aria-live": "polite" });
  const linkedIds = new Set((data.linked || []).map((request) => request.id));
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
      status.replaceChildren(alert("error", t("feature_requests.failed"), error.message));
      button.disabled = false;
    }
  }

  const row = (request, action) => h("li", { "data-request": request.id },
    h("div", { class: "dm-between" },
      h("span", {}, h("strong", { text: request.title }), h("span", { class: "dm-muted", text: ` #${request.id}` })),
      action),
    h("div", { class: "dm-row dm-small dm-muted" },
      request.status ? tag(label("feature_requests.status", request.status), request.status === "released" ? "green" : "") : null,
      t("feature_requests.requesters", { count: request.requesters ?? 0 })));

  const linkButton = (request) => {
    const button = h("button", { class: "dm-button dm-button--small", type: "button", text: t("feature_requests.link"),
      "aria-label": t("feature_requests.link_named", { title: request.title }) });
    button.addEventListener("click", () => act(button, routes.link, { ...who, feature_request_id: request.id }));
    return button;
  };
  const unlinkButton = (request) => {
    const button = h("button", { class: "dm-button dm-button--small dm-button--danger", type: "button",
      text: t("feature_requests.unlink"), "aria-label": t("feature_requests.unlink_named", { title: request.title }) });
    button.addEventListener("click", () => act(button, routes.unlink,
      { ticket_id: ticket.id, feature_request_id: request.id }));
    return button;
  };

  const linked = data.linked || [];
  const suggestions = (data.suggestions || []).filter((request) => !linkedIds.has(request.id));
  const results = h("ul", { class: "dm-list", "data-list": "search-results" });
  const search = h("input", { class: "dm-input", type: "search", id: "dm-request-search",
    placeholder: t("feature_requests.search_placeholder"), autocomplete: "off" });
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
          : [h("li", {}, empty(t("feature_requests.no_results")))]));
      } catch (error) {
        results.replaceChildren(h("li", {}, alert("error", t("feature_requests.failed"), error.message)));
      }
    }, 250);
  });

  const form = h("form", { class: "dm-create", hidden: true });
  const titleInput = h("input", { class: "dm-input", id: "dm-request-title", required: true, maxlength: 200 });
  const description = h("textarea", { class: "dm-input", id: "dm-request-description", rows: 3 });
  const submit = h("button", { class: "dm-button dm-button--primary dm-button--small", type: "submit",
    text: t("feature_requests.create_and_link") });
  const cancel = h("button", { class: "dm-button dm-button--small", type: "button", text: t("feature_requests.cancel") });
  form.append(
    h("label", { class: "dm-label", for: "dm-request-title", text: t("feature_requests.new_title") }), titleInput,
    h("label", { class: "dm-label", for: "dm-request-description", text: t("feature_requests.new_description") }),
    description, h("div", { class: "dm-form-actions" }, submit, cancel));
  const open = h("button", { class: "dm-button dm-button--small", type: "button", text: t("feature_requests.new") });
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

  return section(name, title,
    status,
    linked.length ? h("ul", { class: "dm-list", "data-list": "linked" }, linked.map((r) => row(r, unlinkButton(r))))
      : empty(t("feature_requests.none_linked")),
    suggestions.length ? h("h3", { class: "dm-subtitle", text: t("feature_requests.suggestions") }) : null,
    suggestions.length ? h("ul", { class: "dm-list", "data-list": "suggestions" },
      suggestions.map((r) => row(r, linkButton(r)))) : null,
    h("label", { class: "dm-label", for: "dm-request-search", text: t("feature_requests.search") }),
    search, results, h("div", { class: "dm-form-actions" }, open), form);
}
