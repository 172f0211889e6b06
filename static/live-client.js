// Sunlit Live show client: one small module shared by the buy page, the overlay and the console.
//
// It keeps a show's state from the server's snapshot and updates, tells a harmless skip from a
// lost event (see docs/protocol.md), asks for a fresh snapshot on a gap, reconnects by itself
// with jittered backoff, and resends an unanswered order with the same idempotency key until
// the server answers it (an order refused `busy` too, after the server's hint). A server frame
// is one message or an array of them, applied in order. No dependencies, no build step.

// Close codes, mirroring live.errors.CloseCode (a test checks they match; docs/protocol.md).
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  MESSAGE_TOO_BIG: 1009,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  PROTOCOL: 4000,
  FORBIDDEN: 4003,
  NOT_FOUND: 4004,
  SLOW: 4008,
  KEY_ROTATED: 4011,
  TOO_MANY: 4029,
});
// Refused: reconnecting would not help.
const STOP_CODES = new Set([CloseCode.FORBIDDEN, CloseCode.NOT_FOUND, CloseCode.KEY_ROTATED]);
const MAX_BACKOFF_MS = 15000;
const BASE_BACKOFF_MS = 500;
// A `busy` order waits the server's retry_after_ms (kept within these bounds) plus up to half
// of it again, so a crowd refused together does not come back together.
const BUSY_WAIT_MS = Object.freeze({ min: 100, fallback: 1000, max: 30000 });

function randomId(length) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % 64]).join("");
}

/** The buyer token of this device, made once and kept (16-64 chars of [A-Za-z0-9_-]). */
export function buyerToken(storage = globalThis.localStorage) {
  const name = "sunlit-live-buyer";
  let token = storage && storage.getItem(name);
  if (!token || !/^[A-Za-z0-9_-]{16,64}$/.test(token)) {
    token = randomId(24);
    if (storage) storage.setItem(name, token);
  }
  return token;
}

/** A fresh idempotency key for one tap (8-64 chars of [A-Za-z0-9_-]). */
export function orderKey() {
  return randomId(20);
}

/** Whether a product's deal is running now (the server lists a deal only while it is a real
 * discount; its end time passes on the client's clock). */
export function dealRunning(p, now = Date.now() / 1000) {
  return p.deal_price !== undefined && p.deal_ends_at > now;
}

/** Full jitter: a random delay up to an exponentially growing cap. */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
  return Math.floor(random() * cap);
}

/** How long to wait before resending an order the server refused `busy`: its hint (bounded)
 * plus 0-50% jitter. */
export function busyDelay(retryAfterMs, random = Math.random) {
  const base = Number.isFinite(retryAfterMs)
    ? Math.min(BUSY_WAIT_MS.max, Math.max(BUSY_WAIT_MS.min, retryAfterMs)) : BUSY_WAIT_MS.fallback;
  return Math.round(base * (1 + random() / 2));
}

/** The messages of one server frame: a frame holds one message or an array of them, to be
 * applied in order (docs/protocol.md, "Frames"); [] for text that is neither. */
export function frameMessages(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const messages = Array.isArray(data) ? data : [data];
  return messages.filter((msg) => msg && typeof msg === "object" && !Array.isArray(msg));
}

/** Options (sizes) with the stock of `from`. */
const optionStock = (options, from) => options.map((o) => {
  const f = from.find((x) => x.id === o.id);
  return f ? { ...o, stock: f.stock, sold: f.sold } : o;
});

/** Apply one server message to a state object; returns "gap" when a snapshot is needed. */
export function applyMessage(state, msg) {
  switch (msg.type) {
    case "snapshot": {
      state.seq = msg.seq;
      state.eventSeq = msg.event_seq;
      state.show = { ...msg.show };
      state.products = new Map(msg.products.map((p) => [p.id, { ...p }]));
      state.ready = true;
      return "snapshot";
    }
    case "stock": {
      // Latest value: newer versions win, older or skipped ones are harmless.
      const p = state.products && state.products.get(msg.product_id);
      if (!p || msg.version <= p.version) return "stale";
      p.stock = msg.stock;
      p.sold = msg.sold;
      p.version = msg.version;
      if (msg.options && p.options) p.options = optionStock(p.options, msg.options);
      state.seq = Math.max(state.seq, msg.seq);
      return "applied";
    }
    case "featured":
    case "on_sale":
    case "ordering":
    case "deal":
    case "product":
    case "toasts":
    case "show_ended": {
      if (!state.ready || msg.seq <= state.eventSeq) return "stale";
      if (msg.prev !== state.eventSeq) return "gap"; // a discrete event was lost
      applyDiscrete(state, msg);
      state.eventSeq = msg.seq;
      state.seq = Math.max(state.seq, msg.seq);
      return "applied";
    }
    default:
      return "other";
  }
}

function applyDiscrete(state, msg) {
  const products = state.products;
  switch (msg.type) {
    case "featured":
      state.show.featured_product_id = msg.product_id;
      if (msg.product_id && products.has(msg.product_id)) products.get(msg.product_id).on_sale = true;
      break;
    case "on_sale":
      if (products.has(msg.product_id)) products.get(msg.product_id).on_sale = msg.on_sale;
      break;
    case "ordering":
      state.show.ordering_open = msg.open; // the on-sale flags stay as they are
      break;
    case "toasts":
      state.show.toasts = msg.on;
      break;
    case "deal": {
      const p = products.get(msg.product_id);
      if (!p) break;
      if (msg.deal_price === null) {
        delete p.deal_price;
        delete p.deal_ends_at;
      } else {
        p.deal_price = msg.deal_price;
        p.deal_ends_at = msg.deal_ends_at;
      }
      break;
    }
    case "product": {
      const old = products.get(msg.product.id);
      if (!old) break;
      // The event carries the product as it stands in this show (on sale, deal): it replaces
      // those fields, so a deal that is no longer a discount disappears too.
      const { deal_price: _price, deal_ends_at: _ends, ...rest } = old;
      const merged = { ...rest, ...msg.product };
      if (msg.product.version < old.version) {
        merged.stock = old.stock; // a stock update newer than this edit already arrived
        merged.sold = old.sold;
        merged.version = old.version;
        if (merged.options && old.options) merged.options = optionStock(merged.options, old.options);
      }
      delete merged.created_at;
      products.set(old.id, merged);
      break;
    }
    case "show_ended":
      state.show.ended = true;
      state.show.ordering_open = false;
      state.show.featured_product_id = null;
      for (const p of products.values()) p.on_sale = false;
      break;
  }
}

/** An HTTP order answer (`POST /api/shows/{id}/orders`) as the socket's order_result, or null
 * when it is no answer of the server's (a proxy's error page): the socket then takes over. */
export function httpOrderResult(key, status, body, retryAfter = null) {
  if (!body || typeof body !== "object") return null;
  if (status === 200 || status === 201) {
    const { stock, ...order } = body;
    return { type: "order_result", key, ok: true, order, stock, repeat: status === 200, via: "http" };
  }
  if (typeof body.error !== "string") return null;
  const result = { type: "order_result", key, ok: false, error: body.error, via: "http" };
  if (body.stock !== undefined) result.stock = body.stock;
  if (Number.isFinite(body.retry_after_ms)) result.retry_after_ms = body.retry_after_ms;
  else if (retryAfter !== null && Number.isFinite(Number(retryAfter))) result.retry_after_ms = Number(retryAfter) * 1000;
  return result;
}

/**
 * Connect to a show. Options:
 *   url        ws(s)://…/ws/shows/ID?buyer=TOKEN  or  …/ws/shows/ID/overlay?key=KEY
 *   onState(state, why)   after every change ("snapshot", "applied")
 *   onMessage(msg)        every message (sale toasts, errors, order results…), one at a time
 *                         even when a frame carries several
 *   onStatus(status, detail)  "connecting" | "open" | "closed" | "refused"
 *   onRetry(key, detail)  an order was refused `busy` (nothing was placed): it stays pending and
 *              goes out again with the same key in detail.retryIn ms ({error, retryIn, attempt})
 *   initial    a snapshot the page came with: the state is drawn from it at once, and
 *              replaced by the socket's own snapshot when that arrives
 *   orderUrl, buyer   POST /api/shows/ID/orders and the buyer token: an order placed before the
 *              socket is up goes over HTTP; if that gets no answer it goes over the socket
 *              with the same key, so it is never placed twice
 * Every resend of a key already sent carries `"retry": true` (the server then always asks the
 * store, so an order that exists is never answered from a stale view); a first attempt does not.
 * Returns { state, order(productId, qty, key?, {resend, optionId}?) -> Promise<order_result>, close() }:
 * the promise settles with the order's final answer, never with `busy`.
 */
export function connectShow({ url, onState = () => {}, onMessage = () => {}, onStatus = () => {},
                              onRetry = () => {}, WebSocketImpl = globalThis.WebSocket,
                              random = Math.random, setTimer = setTimeout, clearTimer = clearTimeout,
                              initial = null, orderUrl = null, buyer = null,
                              fetchImpl = globalThis.fetch, httpTimeoutMs = 10000 }) {
  const state = { seq: -1, eventSeq: -1, show: null, products: new Map(), ready: false };
  if (initial) {
    applyMessage(state, initial);
    state.ready = false; // "ready" means the socket is synced: orders wait for it or use HTTP
  }
  // key -> { frame, resolve, sent, viaHttp, busyTimer, busyCount }
  const pending = new Map();
  let socket = null;
  let attempt = 0;
  let stopped = false;

  function send(frame) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
  }

  /** The order frame as it goes out now: a key sent before is marked a retry. */
  function orderFrame(entry) {
    return entry.sent ? { ...entry.frame, retry: true } : entry.frame;
  }

  function sendOrder(entry) {
    if (!socket || socket.readyState !== 1) return; // it goes out after the next snapshot
    socket.send(JSON.stringify(orderFrame(entry)));
    entry.sent = true;
  }

  /** Out now by the best way there is: the synced socket, else HTTP, else after the snapshot. */
  function dispatch(entry) {
    if (state.ready) sendOrder(entry);
    else if (orderUrl && buyer && fetchImpl) orderOverHttp(entry);
  }

  function settle(key, msg) {
    const waiting = pending.get(key);
    if (!waiting) return; // answered already (the other way)
    pending.delete(key);
    if (waiting.busyTimer !== null) clearTimer(waiting.busyTimer);
    waiting.resolve(msg);
  }

  /** An order's answer: `busy` means nothing was placed and to come back later, so the order
   * stays pending and goes out again after the hint; anything else is its final answer. */
  function answer(key, msg) {
    const entry = pending.get(key);
    if (!entry) return;
    if (msg.error !== "busy") {
      settle(key, msg);
      return;
    }
    if (entry.busyTimer !== null) return; // already waiting to go out again
    entry.busyCount += 1;
    const retryIn = busyDelay(msg.retry_after_ms, random);
    entry.busyTimer = setTimer(() => {
      entry.busyTimer = null;
      if (pending.get(key) === entry && !stopped) dispatch(entry);
    }, retryIn);
    onRetry(key, { error: msg.error, retryIn, attempt: entry.busyCount });
  }

  function receive(msg) {
    const outcome = applyMessage(state, msg);
    if (outcome === "snapshot") {
      attempt = 0;
      // Same key: never a double order. One still waiting for its HTTP answer stays there, one
      // refused `busy` waits out its hint.
      for (const entry of pending.values()) {
        if (!entry.viaHttp && entry.busyTimer === null) sendOrder(entry);
      }
      onState(state, outcome);
    } else if (outcome === "applied") {
      onState(state, outcome);
    } else if (outcome === "gap") {
      send({ type: "resync" });
    } else if (msg.type === "order_result") {
      answer(msg.key, msg);
    }
    onMessage(msg);
  }

  function open() {
    onStatus("connecting", { attempt });
    socket = new WebSocketImpl(url);
    socket.onopen = () => onStatus("open", {});
    // One frame may carry a tick's messages: each is applied as if it had come alone.
    socket.onmessage = (event) => frameMessages(event.data).forEach(receive);
    socket.onclose = (event) => {
      state.ready = false;
      if (stopped) return;
      if (STOP_CODES.has(event.code)) {
        onStatus("refused", { code: event.code, reason: event.reason });
        return;
      }
      const delay = backoffDelay(attempt, random);
      attempt += 1;
      onStatus("closed", { code: event.code, retryIn: delay });
      setTimer(open, delay);
    };
  }

  async function orderOverHttp(entry) {
    const { frame } = entry;
    const body = { product_id: frame.product_id, qty: frame.qty, key: frame.key };
    if (frame.option_id) body.option_id = frame.option_id;
    if (entry.sent) body.retry = true;
    entry.viaHttp = true;
    entry.sent = true; // the request may arrive whatever becomes of its answer
    const abort = new AbortController();
    const timer = setTimer(() => abort.abort(), httpTimeoutMs);
    let result = null;
    try {
      const r = await fetchImpl(orderUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Buyer": buyer },
        body: JSON.stringify(body),
        signal: abort.signal,
      });
      result = httpOrderResult(frame.key, r.status, await r.json(), r.headers.get("retry-after"));
    } catch {
      result = null; // no answer: it may or may not have arrived, the same key on the socket tells
    }
    clearTimer(timer);
    entry.viaHttp = false;
    if (result) answer(frame.key, result);
    else if (pending.get(frame.key) === entry && state.ready) sendOrder(entry); // else: after the snapshot
  }

  /** Place an order; `resend` when this key may have gone out before (a page reloaded with an
   * unanswered order), so even its first frame here is a retry. */
  function order(productId, qty = 1, key = orderKey(), { resend = false, optionId = null } = {}) {
    const frame = { type: "order", product_id: productId, qty, key };
    if (optionId) frame.option_id = optionId;
    return new Promise((resolve) => {
      const entry = { frame, resolve, sent: resend, viaHttp: false, busyTimer: null, busyCount: 0 };
      pending.set(key, entry);
      dispatch(entry); // when neither way is there yet, it goes out after the next snapshot
    });
  }

  function close() {
    stopped = true;
    for (const entry of pending.values()) {
      if (entry.busyTimer !== null) clearTimer(entry.busyTimer);
      entry.busyTimer = null;
    }
    if (socket) socket.close(1000);
  }

  /** Ask for a fresh snapshot (e.g. when OBS shows the source again). */
  function resync() {
    send({ type: "resync" });
  }

  open();
  return { state, order, close, pending, resync };
}
