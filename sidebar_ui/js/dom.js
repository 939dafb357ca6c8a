// Small DOM helpers: every text goes through textContent, so ticket data can never become markup.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function section(name, title, ...children) {
  return h("section", { class: "dm-section", "data-panel": name, "aria-label": title },
    h("h2", { class: "dm-section__title", text: title }), ...children);
}

export function tag(text, variant = "") {
  return h("span", { class: `dm-tag${variant ? " dm-tag--" + variant : ""}`, text });
}

export function empty(text) {
  return h("p", { class: "dm-empty", text });
}

export function alert(kind, title, body) {
  return h("div", { class: `dm-alert dm-alert--${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", { class: "dm-alert__title", text: title }), body ? h("p", { text: body }) : null);
}
