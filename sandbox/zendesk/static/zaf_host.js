/* Host side of the Zendesk App Framework (ZAF v2) postMessage protocol, as the agent workspace speaks it.
 *
 * Wire format (matches zendesk_app_framework_sdk's lib/client.js): the app posts JSON strings to its
 * `origin` query parameter; the host answers with JSON strings posted to the app's origin.
 *   app → host  {key: "iframe.handshake", message: {version}, appGuid, instanceGuid}
 *   host → app  {key: "zaf.app.registered", message: {metadata, context}}
 *   app → host  {id, request: "get"|"set"|"invoke", params, appGuid, instanceGuid}
 *   host → app  {id, result: {...}} or {id, error: {message, name}}
 *   app → host  {key: "request:N", message: options}     (client.request)
 *   host → app  {key: "zaf.request:N.done"|"zaf.request:N.fail", message: {responseArgs: [...]}}
 *
 * Supported: get of the ticket's and the user's data and `comment.text`; set of `ticket.<field>` and
 * `comment.text`; invoke of resize, notify, ticket.tags.add/remove, ticket.comment.appendText, app.close/show/
 * hide/popover (no-ops). Anything else answers ZAF's "Could not find handler" error.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("zaf-config").textContent);
  var frame = document.getElementById("sidebar-frame");
  var appOrigin = new URL(config.app.src).origin;
  var data = config.data;
  var logBox = document.getElementById("zaf-log");
  var subscriptions = {};

  function log(direction, message) {
    if (!logBox) { return; }
    var line = direction + " " + JSON.stringify(message);
    logBox.textContent = (line.slice(0, 400) + "\n" + logBox.textContent).slice(0, 8000);
  }

  function send(message) {
    log("→", message);
    frame.contentWindow.postMessage(JSON.stringify(message), appOrigin);
  }

  function trigger(name, message) {
    send({key: "zaf." + name, message: message});
  }

  function context() {
    return {product: "support", location: "ticket_sidebar", instanceGuid: config.app.guid,
            ticketId: config.ticketId, account: {subdomain: data.currentAccount.subdomain}};
  }

  function notFound(path) {
    return {message: "Could not find handler for: \"" + path + "\"", name: "Error", path: path};
  }

  // The workspace's reply box: what ZAF calls the comment (`comment.text`, `ticket.comment.appendText`).
  function commentBox() {
    return document.getElementById("comment-body");
  }

  function resolve(path) {
    if (path === "comment.text") {
      return commentBox() ? {value: commentBox().value} : {missing: true};
    }
    var custom = /^ticket\.customField:custom_field_(\d+)$/.exec(path);
    if (custom) {
      var field = data.ticket.customFields.filter(function (f) { return String(f.id) === custom[1]; })[0];
      return field ? {value: field.value} : {missing: true};
    }
    if (path === "viewport.size") { return {value: {width: window.innerWidth, height: window.innerHeight}}; }
    var value = data;
    var parts = path.split(".");
    for (var i = 0; i < parts.length; i += 1) {
      if (value === null || typeof value !== "object" || !(parts[i] in value)) { return {missing: true}; }
      value = value[parts[i]];
    }
    return {value: value};
  }

  function showUnsaved() {
    document.getElementById("ticket-subject").textContent = data.ticket.subject;
    var status = document.getElementById("ticket-status");
    status.textContent = data.ticket.status;
    status.className = "status status-" + data.ticket.status;
    document.getElementById("ticket-priority").textContent = data.ticket.priority || "-";
    document.getElementById("ticket-tags").innerHTML = "";
    data.ticket.tags.forEach(function (tag) {
      var span = document.createElement("span");
      span.className = "tag";
      span.textContent = tag;
      document.getElementById("ticket-tags").appendChild(span);
    });
    document.getElementById("unsaved").textContent = "Changed by the app (not submitted)";
  }

  function handleGet(message) {
    var result = {errors: {}};
    message.params.forEach(function (path) {
      var found = resolve(path);
      if (found.missing) { result.errors[path] = notFound(path); } else { result[path] = found.value; }
    });
    send({id: message.id, result: result});
  }

  function handleSet(message) {
    var result = {errors: {}};
    Object.keys(message.params).forEach(function (path) {
      var parts = path.split(".");
      if (path === "comment.text" && commentBox()) {
        commentBox().value = String(message.params[path]);
        result[path] = message.params[path];
      } else if (parts[0] === "ticket" && parts.length === 2 && parts[1] in data.ticket) {
        data.ticket[parts[1]] = message.params[path];
        result[path] = message.params[path];
      } else {
        result.errors[path] = notFound(path);
      }
    });
    showUnsaved();
    send({id: message.id, result: result});
  }

  function toast(text) {
    var box = document.createElement("div");
    box.className = "toast";
    box.textContent = text;
    document.body.appendChild(box);
    setTimeout(function () { box.remove(); }, 4000);
  }

  function handleInvoke(message) {
    var result = {errors: {}};
    Object.keys(message.params).forEach(function (name) {
      var args = message.params[name] || [];
      if (name === "resize") {
        var size = args[0] || {};
        if (size.height) { frame.style.height = String(size.height).match(/^\d+$/) ? size.height + "px" : size.height; }
        if (size.width) { frame.style.width = String(size.width).match(/^\d+$/) ? size.width + "px" : size.width; }
        result[name] = null;
      } else if (name === "notify") {
        toast(String(args[0] || ""));
        result[name] = null;
      } else if (name === "ticket.tags.add" || name === "ticket.tags.remove") {
        var tags = [].concat(args[0] || []);
        data.ticket.tags = name.endsWith("add")
          ? data.ticket.tags.concat(tags.filter(function (t) { return data.ticket.tags.indexOf(t) < 0; }))
          : data.ticket.tags.filter(function (t) { return tags.indexOf(t) < 0; });
        showUnsaved();
        result[name] = null;
      } else if (name === "ticket.comment.appendText" && commentBox()) {
        // Zendesk adds the text where the agent's reply ends; the agent still reviews and submits it.
        var box = commentBox();
        box.value = box.value + String(args[0] || "");
        box.dispatchEvent(new Event("input", {bubbles: true}));
        result[name] = null;
      } else if (name === "app.close" || name === "show" || name === "hide" || name === "popover") {
        result[name] = null;
      } else {
        result.errors[name] = {message: "Could not find handler for: \"" + name + "\"", name: "Error", path: name};
      }
    });
    send({id: message.id, result: result});
  }

  function respond(key, ok, args) {
    trigger(key + (ok ? ".done" : ".fail"), {responseArgs: args});
  }

  function handleRequest(key, options) {
    if (typeof options === "string") { options = {url: options}; }
    var url = options.url || "";
    var sameOrigin = url.charAt(0) === "/" || url.indexOf(config.origin + "/") === 0;
    var pending;
    if (sameOrigin) {
      var headers = {"Authorization": "Bearer " + config.apiToken};
      var body = options.data;
      if (body !== undefined && typeof body !== "string") { body = JSON.stringify(body); }
      if (options.contentType || body !== undefined) { headers["Content-Type"] = options.contentType || "application/json"; }
      pending = fetch(url, {method: (options.type || "GET").toUpperCase(), headers: headers, body: body})
        .then(function (answer) {
          return answer.text().then(function (text) {
            return {status: answer.status, responseText: text, contentType: answer.headers.get("Content-Type") || ""};
          });
        });
    } else {
      pending = fetch(config.proxy, {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify({options: options, installation_id: config.app.metadata.installationId})})
        .then(function (answer) { return answer.json(); });
    }
    pending.then(function (answer) {
      var parsed = answer.responseText;
      if ((answer.contentType || "").indexOf("json") >= 0 || options.dataType === "json") {
        try { parsed = JSON.parse(answer.responseText); } catch (e) { parsed = answer.responseText; }
      }
      var xhr = {status: answer.status, statusText: String(answer.status), responseText: answer.responseText,
                 responseJSON: typeof parsed === "object" ? parsed : undefined};
      if (answer.status >= 200 && answer.status < 300) { respond(key, true, [parsed, "success", xhr]); }
      else { respond(key, false, [xhr, "error", String(answer.status)]); }
    }).catch(function (error) {
      respond(key, false, [{status: 0, statusText: "error", responseText: String(error)}, "error", String(error)]);
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== appOrigin) { return; }
    var message = event.data;
    if (typeof message === "string") {
      try { message = JSON.parse(message); } catch (e) { return; }
    }
    if (!message || typeof message !== "object") { return; }
    log("←", message);
    if (message.key === "iframe.handshake") {
      trigger("app.registered", {metadata: config.app.metadata, context: context()});
    } else if (message.request === "get") {
      handleGet(message);
    } else if (message.request === "set") {
      handleSet(message);
    } else if (message.request === "invoke") {
      handleInvoke(message);
    } else if (typeof message.key === "string" && /^request:\d+$/.test(message.key)) {
      handleRequest(message.key, message.message);
    } else if (typeof message.key === "string" && message.key.indexOf("iframe.on:") === 0) {
      subscriptions[message.key.slice(10)] = (message.message || {}).subscriberCount || 1;
    } else if (typeof message.key === "string" && message.key.indexOf("iframe.off:") === 0) {
      delete subscriptions[message.key.slice(11)];
    }
  });

  window.zafHost = {subscriptions: subscriptions, data: data, trigger: trigger};
  var signed = document.getElementById("signed-form");
  if (signed) { signed.submit(); } else { frame.src = config.app.src; }
}());
