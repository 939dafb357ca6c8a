// The helpdesk's side: ZAF gives the open ticket, the agent's locale and resizes the frame.
// Without ZAF (the page opened on its own, in development) the ticket comes from ?ticket_id=.

export async function connect() {
  const client = window.ZAFClient ? window.ZAFClient.init() : null;
  if (!client) {
    const params = new URLSearchParams(location.search);
    return { client: null, ticketId: params.get("ticket_id"), locale: params.get("locale") || navigator.language };
  }
  const data = await client.get(["ticket.id", "currentUser.locale"]);
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
