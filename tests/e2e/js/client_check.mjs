// Drives static/live-client.js against a running server (node --experimental-websocket).
// Usage: node client_check.mjs WS_URL PRODUCT_ID ; prints one JSON line of findings.
import { applyMessage, backoffDelay, connectShow } from "../../../static/live-client.js";

const [url, productId] = process.argv.slice(2);
const findings = {};

// Pure rules first: gap detection and latest-value stock.
const state = {};
applyMessage(state, { type: "snapshot", seq: 10, event_seq: 7, show: { ordering_open: true },
  products: [{ id: "p", stock: 5, sold: 0, version: 3, on_sale: true }] });
findings.stale_stock = applyMessage(state, { type: "stock", seq: 11, product_id: "p", stock: 9, sold: 0, version: 2 });
findings.newer_stock = applyMessage(state, { type: "stock", seq: 12, product_id: "p", stock: 4, sold: 1, version: 4 });
findings.stock_now = state.products.get("p").stock;
findings.linked_event = applyMessage(state, { type: "ordering", seq: 13, prev: 7, open: false });
findings.closed_keeps_on_sale = state.products.get("p").on_sale === true;
findings.gap = applyMessage(state, { type: "featured", seq: 20, prev: 15, product_id: "p" });
applyMessage(state, { type: "deal", seq: 14, prev: 13, product_id: "p", deal_price: 80, deal_ends_at: 4e9 });
findings.deal_on = state.products.get("p").deal_price === 80;
// a price edit under the deal: the product event no longer lists a deal, so none is shown
applyMessage(state, { type: "product", seq: 15, prev: 14,
  product: { id: "p", name: "P", price: 70, stock: 4, sold: 1, version: 5, on_sale: false } });
findings.deal_gone = !("deal_price" in state.products.get("p")) && state.products.get("p").price === 70;
const delays = [0, 1, 5, 30].map((a) => backoffDelay(a, () => 0.999));
findings.backoff = delays;

// Live: snapshot, an order, a dropped connection with an order in flight, resent with its key.
const sockets = [];
class RecordingWebSocket extends WebSocket {
  constructor(u) {
    super(u);
    sockets.push(this);
  }
}
const statuses = [];
let snapshots = 0;
const client = connectShow({
  url,
  WebSocketImpl: RecordingWebSocket,
  onStatus: (s) => statuses.push(s),
  onState: (_, why) => { if (why === "snapshot") snapshots += 1; },
  random: () => 0.01,
});
const waitFor = async (check, ms = 5000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};
await waitFor(() => client.state.ready);
const first = await client.order(productId, 1);
findings.first_ok = first.ok;
// The network drops; the buyer taps while it is down.
sockets[0].close();
const resent = client.order(productId, 2, "resend-key-0001");
const result = await resent; // goes out after the reconnect's snapshot, with the same key
findings.resent_ok = result.ok;
findings.resent_qty = result.order && result.order.qty;
findings.snapshots = snapshots;
findings.sockets = sockets.length;
const again = await client.order(productId, 2, "resend-key-0001");
findings.repeat_same_order = again.ok && again.repeat === true && again.order.id === result.order.id;
findings.statuses = statuses;

// Before the socket is up, a tap goes over HTTP; without an answer it goes over the socket with
// the same key, so it is placed once whatever happened to the HTTP request.
const orderUrl = url.replace(/^ws/, "http").replace(/\/ws\/shows\/([^/?]+).*$/, "/api/shows/$1/orders");
const buyer = new URL(url).searchParams.get("buyer");
const early = connectShow({ url, orderUrl, buyer, random: () => 0.01, initial: { type: "snapshot",
  seq: 0, event_seq: 0, show: { ordering_open: true }, products: [{ id: productId, stock: 1 }] } });
findings.initial_drawn = early.state.show.ordering_open === true && early.state.ready === false;
const overHttp = await early.order(productId, 1, "http-key-00000001");
findings.http_ok = overHttp.ok === true && overHttp.via === "http" && overHttp.repeat === false;
early.close();
// the request arrived and made the order, but its answer was lost on the way back
const lossy = connectShow({ url, orderUrl, buyer, random: () => 0.01,
  fetchImpl: async (...args) => { await fetch(...args); throw new TypeError("answer lost"); } });
const handedOver = await lossy.order(productId, 1, "http-key-00000002");
findings.lost_answer_same_order = handedOver.ok && handedOver.via === undefined && handedOver.repeat === true;
lossy.close();
// the HTTP request never arrived (nothing listens there)
const down = connectShow({ url, orderUrl: "http://127.0.0.1:9/api", buyer, random: () => 0.01 });
const overSocket = await down.order(productId, 1, "http-key-00000003");
findings.http_down_socket_orders = overSocket.ok && overSocket.via === undefined && overSocket.repeat === false;
down.close();
const last = overSocket;

// the stock message (coalesced, ~100 ms) brings the viewer's state to what the order left
await waitFor(() => client.state.products.get(productId).stock === last.stock, 2000).catch(() => {});
findings.final_stock = client.state.products.get(productId).stock;
client.close();
console.log(JSON.stringify(findings));
process.exit(0);
