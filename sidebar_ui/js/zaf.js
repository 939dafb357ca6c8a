// The helpdesk's side: ZAF gives the open ticket, the agent's locale and resizes the frame.
// Without ZAF (the page opened on its own, in development) the ticket comes from ?ticket_id=.

// How long the helpdesk has to say which ticket is open before the sidebar says it did not answer.
const ANSWER_SECONDS = 10;

// The page is inside the helpdesk but cannot talk to it: `reason` is "sdk" (Zendesk's SDK did not load from
// `sdkUrl`) or "silent" (the SDK loaded, the helpdesk did not answer within `seconds`).
export class HelpdeskUnreachable extends Error {
  constructor(reason, sdkUrl, seconds) {
    super(`ZAF ${reason}: ${sdkUrl}`);
    this.reason = reason;
    this.sdkUrl = sdkUrl;
    this.seconds = seconds;
  }
}

function sdkUrl() {
  return document.querySelector('meta[name="deskmate-zaf-sdk"]')?.getAttribute("content") || "";
}

function answerWithin(promise, seconds) {
  let timer;
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new HelpdeskUnreachable("silent", sdkUrl(), seconds)), seconds * 1000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export async function connect() {
  const params = new URLSearchParams(location.search);
  // The helpdesk opens an app's frame with ?origin=...&app_guid=...: then a missing SDK is a failure, not
  // development.
  const inHelpdesk = params.has("origin") && params.has("app_guid");
  const client = window.ZAFClient ? window.ZAFClient.init() : null;
  if (!client) {
    if (inHelpdesk) throw new HelpdeskUnreachable("sdk", sdkUrl(), 0);
    return { client: null, ticketId: params.get("ticket_id"), locale: params.get("locale") || navigator.language };
  }
  const data = await answerWithin(client.get(["ticket.id", "currentUser.locale"]), ANSWER_SECONDS);
  return { client, ticketId: data["ticket.id"], locale: data["currentUser.locale"] || "en" };
}

export function autoResize(client, root) {
  if (!client) return;
  let last = 0;
  const resize = () => {
    const height = Math.ceil(root.getBoundingClientRect().height) + 8;
    if (height !== last) {
      last = height;
      client.invoke("resize", { width: "100%", height: `${height}px` });
    }
  };
  new ResizeObserver(resize).observe(root);
  resize();
}
