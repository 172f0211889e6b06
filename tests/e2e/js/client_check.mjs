// Drives static/live-client.js against a running server (node --experimental-websocket).
// Usage: node client_check.mjs WS_URL PRODUCT_ID ; prints one JSON line of findings.
import {
  applyMessage, backoffDelay, busyDelay, connectShow, httpOrderResult,
} from "../../../static/live-client.js";

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
// busy: the server's hint plus 0-50% jitter, within bounds; HTTP's body hint before the header
findings.busy_delays = [[400, 0], [400, 0.999], [undefined, 0], [0, 0], [1e9, 0.999]]
  .map(([hint, r]) => busyDelay(hint, () => r));
const httpBusy = httpOrderResult("k", 503, { error: "busy", detail: "d", retry_after_ms: 250 }, "1");
const headerOnly = httpOrderResult("k", 503, { error: "busy", detail: "d" }, "2");
findings.http_busy = [httpBusy.error, httpBusy.retry_after_ms, headerOnly.retry_after_ms];

// A frame may hold an array of messages: applied in order, as if each had come alone.
class FakeSocket {
  constructor() {
    this.readyState = 1;
    this.sent = [];
    FakeSocket.last = this;
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() {}
}
const seen = [];
const whys = [];
const fake = connectShow({ url: "ws://fake", WebSocketImpl: FakeSocket, setTimer: () => 0,
  onMessage: (m) => seen.push(`${m.type}:${m.seq ?? m.key}`), onState: (_, why) => whys.push(why) });
const deliver = (data) => FakeSocket.last.onmessage({ data: JSON.stringify(data) });
deliver([
  { type: "snapshot", seq: 1, event_seq: 1, show: { ordering_open: true },
    products: [{ id: "a", stock: 9, sold: 0, version: 1, on_sale: true }] },
  { type: "stock", seq: 2, product_id: "a", stock: 7, sold: 2, version: 3 },
  { type: "stock", seq: 3, product_id: "a", stock: 8, sold: 1, version: 2 }, // older: skipped
  { type: "ordering", seq: 4, prev: 1, open: false },
  { type: "ordering", seq: 5, prev: 4, open: true }, // only right after the one before it
]);
findings.array_seen = seen.splice(0);
findings.array_whys = whys.splice(0);
findings.array_state = [fake.state.products.get("a").stock, fake.state.show.ordering_open,
  fake.state.eventSeq];
// an order's answer inside an array settles it; a lost event in one asks for a snapshot once
const fakeOrder = fake.order("a", 1, "array-key-000001");
deliver([{ type: "stock", seq: 6, product_id: "a", stock: 6, sold: 3, version: 4 },
  { type: "order_result", key: "array-key-000001", ok: true, order: { qty: 1 } },
  { type: "featured", seq: 9, prev: 8, product_id: "a" }]);
findings.array_order_ok = (await fakeOrder).ok === true;
findings.array_resync = FakeSocket.last.sent.filter((f) => f.type === "resync").length;
deliver("not a message");
deliver([null, 3, ["x"]]);
findings.array_junk_ignored = seen.length === 3 && fake.state.products.get("a").stock === 6;
fake.close();

// Live: snapshot, an order, a dropped connection with an order in flight, resent with its key.
const sockets = [];
const sentFrames = []; // every order frame any client here sent
class RecordingWebSocket extends WebSocket {
  constructor(u) {
    super(u);
    sockets.push(this);
  }

  send(text) {
    const frame = JSON.parse(text);
    if (frame.type === "order") sentFrames.push(frame);
    super.send(text);
  }
}
const framesOf = (key) => sentFrames.filter((f) => f.key === key).map((f) => f.retry === true);
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
findings.resend_retry_flags = framesOf("resend-key-0001"); // never sent before the reconnect
const again = await client.order(productId, 2, "resend-key-0001", { resend: true });
findings.repeat_same_order = again.ok && again.repeat === true && again.order.id === result.order.id;
// Sent, then the connection drops before its answer: resent after the reconnect as a retry.
const inFlight = client.order(productId, 1, "inflight-key-0001");
sockets[1].close();
const inFlightResult = await inFlight;
findings.inflight_ok = inFlightResult.ok === true;
findings.inflight_retry_flags = framesOf("inflight-key-0001");
findings.snapshots = snapshots;
findings.sockets = sockets.length;
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
const lossy = connectShow({ url, orderUrl, buyer, random: () => 0.01, WebSocketImpl: RecordingWebSocket,
  fetchImpl: async (...args) => { await fetch(...args); throw new TypeError("answer lost"); } });
const handedOver = await lossy.order(productId, 1, "http-key-00000002");
findings.lost_answer_same_order = handedOver.ok && handedOver.via === undefined && handedOver.repeat === true;
findings.handed_over_retry_flags = framesOf("http-key-00000002"); // the HTTP try came first
lossy.close();
// the HTTP request never arrived (nothing listens there)
const down = connectShow({ url, orderUrl: "http://127.0.0.1:9/api", buyer, random: () => 0.01 });
const overSocket = await down.order(productId, 1, "http-key-00000003");
findings.http_down_socket_orders = overSocket.ok && overSocket.via === undefined && overSocket.repeat === false;
down.close();
// HTTP answers 503 busy (here, for the first try: the server's own busy is tested elsewhere): the
// order waits out the hint and goes again with the same key as a retry, the socket still down.
class NeverOpens {
  constructor() { this.readyState = 0; }
  send() {}
  close() {}
}
const bodies = [];
const httpRetries = [];
const busyOnce = connectShow({ url, orderUrl, buyer, random: () => 0, WebSocketImpl: NeverOpens,
  onRetry: (key, detail) => httpRetries.push({ key, ...detail }),
  fetchImpl: async (u, init) => {
    bodies.push(JSON.parse(init.body));
    if (bodies.length > 1) return fetch(u, init);
    return new Response(JSON.stringify({ error: "busy", detail: "try again", retry_after_ms: 200 }),
      { status: 503, headers: { "Content-Type": "application/json", "Retry-After": "1" } });
  } });
const busyStart = Date.now();
const afterBusy = await busyOnce.order(productId, 1, "http-busy-key-0001");
findings.http_busy_waited = Date.now() - busyStart;
findings.http_busy_ok = afterBusy.ok === true && afterBusy.via === "http" && afterBusy.repeat === false;
findings.http_busy_bodies = bodies.map((b) => [b.key, b.retry === true]);
findings.http_busy_retries = httpRetries;
busyOnce.close();
const last = afterBusy;

// the stock message (coalesced, ~100 ms) brings the viewer's state to what the order left
await waitFor(() => client.state.products.get(productId).stock === last.stock, 2000).catch(() => {});
findings.final_stock = client.state.products.get(productId).stock;
client.close();
console.log(JSON.stringify(findings));
process.exit(0);
