/* Deskmate breaking news for the help center.
 *
 * <script src="https://deskmate.example/news/widget.js" data-account="acme" async></script>
 *
 * Shows the account's current incidents as an accessible, dismissible banner, and the quick links configured
 * for the ticket form a customer picks on the request form. Everything from the server is put on the page
 * with DOM text APIs (createElement, textContent): no incident text is ever parsed as HTML, and links are
 * kept only when they are plain http(s) addresses. Dismissals are remembered per incident update, so an
 * update brings the banner back. Polls with jitter, and not at all while the tab is in the background.
 */
(function () {
  "use strict";
  if (window.__deskmateNews) return;
  var script = document.currentScript || document.querySelector('script[src*="/news/widget.js"]');
  if (!script || !window.fetch || !window.URL) return;
  window.__deskmateNews = true;

  var base = new URL(".", script.src);
  var account = script.getAttribute("data-account") || "";
  var STORE = "deskmate-news-dismissed";
  var doc = null;
  var timer = null;
  var lastFetch = 0;
  var failures = 0;
  var banner = null;
  var linksBox = null;

  var CSS =
    "#deskmate-news{font:inherit;margin:0;padding:0}" +
    ".dmn-item{display:flex;gap:.75em;align-items:flex-start;padding:.75em 1em;border-left:6px solid;" +
    "background:#f4f6f8;color:#1f2933;margin:0 0 2px}" +
    ".dmn-outage{border-color:#c0392b;background:#fdecea}.dmn-degraded{border-color:#e67e22;background:#fff4e5}" +
    ".dmn-maintenance{border-color:#2d6cdf;background:#eaf1fd}.dmn-information{border-color:#5f6b7a}" +
    ".dmn-resolved{border-color:#2e7d32;background:#edf7ee}" +
    ".dmn-text{flex:1;min-width:0}.dmn-title{margin:0;font-weight:700}.dmn-meta{margin:.2em 0;font-size:.9em}" +
    ".dmn-body p{margin:.3em 0}.dmn-body ul{margin:.3em 0 .3em 1.2em}.dmn-body a{color:inherit;text-decoration:underline}" +
    ".dmn-close{background:none;border:1px solid transparent;font-size:1.4em;line-height:1;cursor:pointer;" +
    "padding:.1em .4em;color:inherit}.dmn-close:focus{outline:2px solid #2d6cdf}" +
    "#deskmate-quick-links{border:1px solid #d0d7de;border-radius:4px;padding:.75em 1em;margin:.75em 0}" +
    "#deskmate-quick-links h2{font-size:1em;margin:0 0 .4em}#deskmate-quick-links ul{margin:0;padding-left:1.2em}";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function inline(parent, nodes) {
    (Array.isArray(nodes) ? nodes : []).forEach(function (node) {
      if (!node || typeof node !== "object") return;
      var text = typeof node.text === "string" ? node.text : "";
      if (node.type === "br") {
        parent.appendChild(document.createElement("br"));
      } else if (node.type === "link" && safeHref(node.href)) {
        var link = el("a", null, text);
        link.href = safeHref(node.href);
        link.rel = "noopener noreferrer nofollow";
        link.target = "_blank";
        parent.appendChild(link);
      } else if (node.type === "strong" || node.type === "em" || node.type === "code") {
        parent.appendChild(el(node.type, null, text));
      } else {
        parent.appendChild(document.createTextNode(text));
      }
    });
  }

  function blocks(parent, list) {
    (Array.isArray(list) ? list : []).forEach(function (block) {
      if (block && block.type === "ul") {
        var ul = el("ul");
        (Array.isArray(block.items) ? block.items : []).forEach(function (item) {
          var li = el("li");
          inline(li, item);
          ul.appendChild(li);
        });
        parent.appendChild(ul);
      } else if (block && block.type === "p") {
        var p = el("p");
        inline(p, block.children);
        parent.appendChild(p);
      }
    });
  }

  function dismissed() {
    try {
      var list = JSON.parse(window.localStorage.getItem(STORE) || "[]");
      return Array.isArray(list) ? list : [];
    } catch (e) {
      return [];
    }
  }

  function dismiss(key) {
    var list = dismissed().filter(function (k) { return k !== key; });
    list.push(key);
    try {
      window.localStorage.setItem(STORE, JSON.stringify(list.slice(-50)));
    } catch (e) { /* private mode: dismissed for this page view only */ }
  }

  function words(name) {
    var labels = (doc && doc.labels) || {};
    return typeof labels[name] === "string" ? labels[name] : name;
  }

  function when(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    try {
      return date.toLocaleString(document.documentElement.lang || undefined,
        {dateStyle: "medium", timeStyle: "short"});
    } catch (e) {
      return date.toLocaleString();
    }
  }

  function ensureBanner() {
    if (banner) return banner;
    var style = el("style", null, CSS);
    document.head.appendChild(style);
    banner = el("div");
    banner.id = "deskmate-news";
    banner.setAttribute("role", "region");
    banner.setAttribute("aria-live", "polite");
    // A theme may reserve a place for the banner; otherwise it goes first in the page.
    var mount = document.getElementById("deskmate-breaking-news");
    if (mount) {
      mount.appendChild(banner);
    } else {
      document.body.insertBefore(banner, document.body.firstChild);
    }
    return banner;
  }

  function renderBanner() {
    var region = ensureBanner();
    region.setAttribute("aria-label", words("region"));
    var hidden = dismissed();
    var incidents = ((doc && doc.incidents) || []).filter(function (incident) {
      return incident && hidden.indexOf(String(incident.dismiss_key)) < 0;
    });
    while (region.firstChild) region.removeChild(region.firstChild);
    region.hidden = incidents.length === 0;
    incidents.forEach(function (incident) {
      var severity = String(incident.severity).replace(/[^a-z]/g, "");
      var item = el("div", "dmn-item dmn-" + (incident.status === "resolved" ? "resolved" : severity));
      item.setAttribute("data-incident", String(incident.id));
      if (typeof incident.locale === "string") item.lang = incident.locale;
      var text = el("div", "dmn-text");
      text.appendChild(el("p", "dmn-title", words(severity) + ": " + incident.title));
      var latest = (incident.updates || [])[0];
      var stamp = latest ? latest.at : incident.updated_at;
      text.appendChild(el("p", "dmn-meta", words(incident.status) + " · " + words("updated") + " " + when(stamp)));
      var body = el("div", "dmn-body");
      blocks(body, incident.body);
      if (latest && incident.updates.length > 1) blocks(body, latest.body);
      text.appendChild(body);
      item.appendChild(text);
      var close = el("button", "dmn-close", "\u00d7");
      close.type = "button";
      close.setAttribute("aria-label", words("dismiss") + ": " + incident.title);
      close.addEventListener("click", function () {
        dismiss(String(incident.dismiss_key));
        renderBanner();
        var next = region.querySelector(".dmn-close");
        if (next) next.focus();
      });
      item.appendChild(close);
      region.appendChild(item);
    });
  }

  // Zendesk's request form names its ticket-form picker request_issue_type_select; some themes ticket_form_id.
  function formSelect() {
    return document.querySelector('select#request_issue_type_select, select[name="request_issue_type_select"]') ||
      document.querySelector('select#ticket_form_id, select[name="ticket_form_id"]');
  }

  function chosenForm() {
    var select = formSelect();
    if (select && select.value) return select.value;
    var params = new URLSearchParams(window.location.search);
    return params.get("ticket_form_id") || "";
  }

  function renderQuickLinks() {
    var select = formSelect();
    if (!select) return;
    var links = ((doc && doc.quick_links) || {})[chosenForm()];
    if (!Array.isArray(links) || links.length === 0) {
      if (linksBox) linksBox.hidden = true;
      return;
    }
    if (!linksBox) {
      linksBox = el("div");
      linksBox.id = "deskmate-quick-links";
      linksBox.setAttribute("role", "region");
      linksBox.setAttribute("aria-live", "polite");
      select.parentNode.insertBefore(linksBox, select.nextSibling);
    }
    linksBox.setAttribute("aria-label", words("quick_links"));
    while (linksBox.firstChild) linksBox.removeChild(linksBox.firstChild);
    linksBox.hidden = false;
    linksBox.appendChild(el("h2", null, words("quick_links")));
    var list = el("ul");
    links.forEach(function (link) {
      if (!link || typeof link.title !== "string") return;
      var li = el("li");
      var href = safeHref(link.url);
      if (href) {
        var a = el("a", null, link.title);
        a.href = href;
        a.rel = "noopener noreferrer";
        a.target = "_blank";
        li.appendChild(a);
      } else {
        li.appendChild(el("strong", null, link.title));
      }
      if (typeof link.text === "string" && link.text) li.appendChild(document.createTextNode(" " + link.text));
      list.appendChild(li);
    });
    linksBox.appendChild(list);
  }

  function render() {
    renderBanner();
    renderQuickLinks();
  }

  function url() {
    var target = new URL("active.json", base);
    if (account) target.searchParams.set("account", account);
    var lang = document.documentElement.getAttribute("lang") || "";
    if (/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,2}$/.test(lang)) target.searchParams.set("locale", lang);
    return target.toString();
  }

  function pollSeconds() {
    var seconds = doc && Number(doc.poll_seconds);
    return seconds && seconds >= 5 ? seconds : 30;
  }

  function schedule() {
    clearTimeout(timer);
    if (document.hidden) return;
    var delay = pollSeconds() * Math.pow(2, Math.min(failures, 4));
    delay = Math.min(delay, 600) * (1 + Math.random() / 3); // jitter: a help center's visitors spread out
    timer = setTimeout(refresh, delay * 1000);
  }

  function refresh() {
    lastFetch = Date.now();
    // "no-cache" revalidates with the stored ETag: an unchanged answer costs the server a 304.
    window.fetch(url(), {cache: "no-cache", credentials: "omit", mode: "cors"})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (data && typeof data === "object") {
          doc = data;
          render();
        }
      })
      .catch(function () { failures += 1; })
      .then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
    } else if (Date.now() - lastFetch >= pollSeconds() * 1000) {
      refresh();
    } else {
      schedule();
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target === formSelect()) renderQuickLinks();
  });

  function start() {
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
