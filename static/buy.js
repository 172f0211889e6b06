// The buy page: the featured product large, one-tap buy, delivery details once, my orders.
import { buyerToken, connectShow, dealRunning, orderKey } from "./live-client.js";
import { countdown, money, pickLanguage, translator } from "./i18n.js";
import { $, el, showSocketUrl, tickDeals } from "./page.js";

const app = $("app");
const showId = app.dataset.showId;
const token = buyerToken();
// The server drew the page in the language it picked (?lang=, the saved choice, the phone's);
// a choice saved on this device wins, then that.
let lang = pickLanguage(location.search, localStorage, { languages: [document.documentElement.lang] });
let t = translator(lang);

const PENDING = `sunlit-live-pending-${showId}`;
const DELIVERY = "sunlit-live-delivery";
const FIELDS = ["name", "phone", "country", "province", "city", "district", "street", "postcode"];
const REQUIRED = ["name", "phone", "city", "street"];
const pending = new Map(JSON.parse(localStorage.getItem(PENDING) || "[]"));
const qtys = new Map(); // product id -> chosen quantity
let myOrders = [];
let connection = "connecting";
let paused = false;
let result = null; // { productId, key, vars, ok }: the answer shown with the product it was for
const retrying = new Set(); // keys of orders refused `busy`, going out again by themselves
let deliveryOpen = false;
let delivery = JSON.parse(localStorage.getItem(DELIVERY) || "null");

function savePending() {
  localStorage.setItem(PENDING, JSON.stringify([...pending]));
}

// The snapshot the page was drawn from: buying works from it before the socket is up (over
// HTTP, handed to the socket with the same key if that gets no answer).
const initial = JSON.parse($("initial-state").textContent);
// the product the server drew: no entrance animation for it again
let lastFeatured = initial.show.ended ? null
  : initial.show.featured_product_id || (initial.products.find((p) => p.on_sale) || {}).id || null;
let client = null; // set right below; callbacks may fire before connectShow returns
// Sizes, weights, pre-orders: static/buy-options.js, loaded when needed.
const special = (p) => p.options || p.preorder_cap > 0 || p.parts;
let opts = null;
let optsLoading = null;
const loadOptions = () => (optsLoading ||= import("./buy-options.js").then((m) => {
  m.setup(showId, (p) => {
    if (result && result.productId === p.id) result = null; // about another size
    render();
  });
  opts = m;
  render();
}));
if (initial.products.some(special)) await loadOptions();
// the module for a product needing it, once loaded
const ext = (p) => special(p) && (opts || loadOptions() && null);
client = connectShow({
  url: showSocketUrl(showId, "", { buyer: token }),
  initial,
  orderUrl: `/api/shows/${encodeURIComponent(showId)}/orders`,
  buyer: token,
  onState: render,
  onRetry: (key) => {
    const intent = pending.get(key);
    if (!intent) return;
    retrying.add(key);
    // Said where the answer will appear; the answer replaces it.
    setResult(intent.productId, "busy_retrying", {}, null);
  },
  onStatus: (status) => {
    connection = status === "open" ? connection : status;
    renderStatus();
    render();
  },
  onMessage: (msg) => {
    if (msg.type === "snapshot") {
      connection = "live";
      paused = false; // a fresh snapshot comes when the server is whole again
      renderStatus();
      loadOrders();
    } else if (msg.type === "status") {
      paused = !!msg.ordering_paused;
      renderStatus();
    }
  },
});

function bought(productId) {
  return myOrders
    .filter((o) => o.product_id === productId && o.status !== "cancelled" && o.status !== "expired")
    .reduce((sum, o) => sum + o.qty, 0);
}

function maxQty(p) {
  let max = Math.min(ext(p) ? opts.units(p) : p.stock, 10000);
  if (p.limit_per_buyer) max = Math.min(max, p.limit_per_buyer - bought(p.id));
  return Math.max(0, max);
}

function unavailableReason(p) {
  const show = client.state.show;
  if (show.ended) return t("show_ended");
  if (!show.ordering_open) return t("ordering_paused");
  if (!p.on_sale) return t("not_on_sale");
  if (special(p)) return opts ? opts.reason(p, t) : "…";
  if (p.stock <= 0) return t("sold_out");
  return "";
}

/** "#0042" from the order's number in its show; the id where there is none. */
function orderNumber(o) {
  return Number.isInteger(o.number) ? `#${String(o.number).padStart(4, "0")}` : `#${o.id}`;
}

function priceBlock(p) {
  if (ext(p)) return opts.priceBlock(p, t, lang);
  const box = el("div", "price");
  const dealOn = dealRunning(p);
  box.append(el("span", "now", money(dealOn ? p.deal_price : p.price, p.currency, lang)));
  if (p.unit) box.append(el("span", "unit", `/ ${p.unit}`));
  if (dealOn) {
    const was = el("s", "was", money(p.price, p.currency, lang));
    was.setAttribute("aria-label", `${t("was")} ${money(p.price, p.currency, lang)}`);
    box.append(was);
    const clock = el("span", "deal", t("deal_ends", { t: countdown(p.deal_ends_at) }));
    clock.dataset.endsAt = p.deal_ends_at;
    box.append(clock);
  }
  return box;
}

function stockLine(p) {
  if (ext(p)) return opts.stockLine(p, t);
  if (p.stock <= 0) return el("p", "stock out", t("sold_out"));
  const low = p.stock <= 5;
  return el("p", low ? "stock low" : "stock", t(low ? "only_left" : "left", { n: p.stock }));
}

function buyControls(p, big) {
  const wrap = el("div", "buy-row");
  const reason = unavailableReason(p);
  const max = maxQty(p);
  const mine = [...pending].filter(([, i]) => i.productId === p.id);
  const o = ext(p) && opts.option(p);
  const isPending = mine.length > 0;
  const isRetrying = mine.some(([key]) => retrying.has(key));
  let qty = Math.min(Math.max(1, qtys.get(p.id) || 1), Math.max(1, max));
  qtys.set(p.id, qty);
  if (big) {
    const stepper = el("div", "stepper");
    stepper.setAttribute("role", "group");
    stepper.setAttribute("aria-label", t("qty"));
    const less = el("button", "step", "−");
    less.type = "button";
    less.setAttribute("aria-label", t("less"));
    // the quantity of an order on its way is fixed: a change now would not be that order's
    less.disabled = qty <= 1 || !!reason || isPending;
    const value = el("output", "qty", String(qty));
    value.setAttribute("aria-label", t("qty"));
    const more = el("button", "step", "+");
    more.type = "button";
    more.setAttribute("aria-label", t("more"));
    more.disabled = qty >= max || !!reason || isPending;
    less.onclick = () => { qtys.set(p.id, qty - 1); render(); };
    more.onclick = () => { qtys.set(p.id, qty + 1); render(); };
    stepper.append(less, value, more);
    wrap.append(stepper);
  } else {
    qty = 1;
  }
  const button = el("button", big ? "button primary" : "button small", "");
  button.type = "button";
  const offline = connection === "closed" || connection === "refused";
  button.textContent = isPending ? (offline ? t("queued") : isRetrying ? t("retrying") : t("buying"))
    : reason || (max <= 0 ? t("err_limit_exceeded") : big ? t("buy") : t("buy_one"));
  button.disabled = isPending || !!reason || max <= 0;
  button.onclick = () => place(p.id, qty, undefined, false, o ? o.id : null);
  wrap.append(button);
  return wrap;
}

function productCard(p, enter) {
  const card = el("article", enter ? "card enter" : "card");
  if (p.image_url) {
    const img = el("img", "photo");
    img.src = p.image_url;
    img.alt = p.name;
    img.decoding = "async";
    img.width = 640;
    img.height = 480;
    card.append(img);
  }
  const body = el("div", "card-body");
  body.append(el("p", "eyebrow", t("featured")));
  body.append(el("h2", "name", p.name));
  if (p.producer) body.append(el("p", "producer", `${t("producer")} · ${p.producer}`));
  if (p.description) body.append(el("p", "story", p.description));
  body.append(...chips(p), priceBlock(p), stockLine(p));
  if (p.limit_per_buyer) body.append(el("p", "hint", t("per_buyer", { n: p.limit_per_buyer })));
  body.append(buyControls(p, true));
  if (!client.state.show.ordering_open) body.append(el("p", "notice", t("paused_notice")));
  card.append(body);
  if (ext(p) ? opts.soldOut(p) : p.stock <= 0) card.append(el("div", "stamp", t("sold_out")));
  return card;
}

function chips(p) {
  const locked = [...pending.values()].some((i) => i.productId === p.id);
  return ext(p) ? opts.chips(p, t, locked) : [];
}

function otherRow(p) {
  const row = el("li", p.options ? "row with-options" : "row");
  const info = el("div", "row-info");
  info.append(el("p", "row-name", p.name), ...chips(p));
  const meta = el("p", "row-meta");
  meta.append(priceBlock(p), stockLine(p));
  info.append(meta);
  if (result && result.productId === p.id) {
    info.append(el("p", `row-result ${resultClass(result)}`, t(result.key, result.vars)));
  }
  row.append(info, buyControls(p, false));
  return row;
}

function render() {
  if (!client || !client.state.show) return;
  const state = client.state;
  document.title = state.show.title;
  const products = [...state.products.values()];
  const featured = state.show.ended ? null
    : state.products.get(state.show.featured_product_id) || products.find((p) => p.on_sale) || null;
  const featuredId = featured ? featured.id : null;
  if (featuredId !== lastFeatured) result = null; // an answer belongs to the product it was for
  const box = $("featured");
  if (state.show.ended) {
    const ended = el("div", "ended");
    ended.append(el("h2", "", t("show_ended")), el("p", "", t("ended_thanks")));
    box.replaceChildren(ended);
  } else {
    // animate a change of product only, not every redraw
    box.replaceChildren(featured ? productCard(featured, featuredId !== lastFeatured) : el("p", "empty", t("not_on_sale")));
  }
  lastFeatured = featuredId;
  const line = $("result");
  const mine = result && result.productId === featuredId;
  line.textContent = mine ? t(result.key, result.vars) : "";
  line.className = mine ? `result ${resultClass(result)}` : "result";
  const others = state.show.ended ? [] : products.filter((p) => p.on_sale && p !== featured);
  const list = el("ul", "rows");
  others.forEach((p) => list.append(otherRow(p)));
  $("others").replaceChildren(...(others.length ? [el("h2", "", t("also_on_sale")), list] : []));
  renderOrders();
  renderDelivery();
  renderStatus();
}

function renderStatus() {
  const status = $("status");
  const ended = client && client.state.show && client.state.show.ended;
  const key = ended ? "ended" : paused ? "paused" : { live: "live", connecting: "connecting", closed: "offline", refused: "offline" }[connection] || "reconnecting";
  status.textContent = t(key);
  status.dataset.state = ended ? "ended" : paused ? "paused" : connection;
}

function renderOrders() {
  const list = $("orders");
  if (!myOrders.length) {
    list.replaceChildren(el("li", "hint", t("no_orders")));
    return;
  }
  list.replaceChildren(...myOrders.slice().reverse().map((o) => {
    const p = client && client.state.products.get(o.product_id);
    const item = el("li", "order");
    const what = `${p ? p.name : o.product_id}${o.option_name ? ` · ${o.option_name}` : ""}`;
    item.append(el("span", "order-name", `${what} × ${o.qty}${o.preorder ? ` · ${t("pre")}` : ""}`));
    item.append(el("span", `badge ${o.status}`, t(`status_${o.status}`)));
    const meta = el("span", "order-meta");
    meta.append(el("span", "order-id", orderNumber(o)));
    if (o.total !== undefined) meta.append(el("span", "order-total", money(o.total, o.currency, lang)));
    item.append(meta);
    return item;
  }));
}

async function loadOrders() {
  try {
    const r = await fetch(`/api/shows/${encodeURIComponent(showId)}/my-orders`, { headers: { "X-Buyer": token } });
    if (r.ok) {
      myOrders = (await r.json()).orders;
      render();
      if (myOrders.length) import("./buy-pay.js").then((m) => m.show(showId, token, loadOrders));
    }
  } catch { /* offline: the list stays as it was */ }
}

/** ok: true (placed), false (not placed), null (still on its way). */
function resultClass(r) {
  return r.ok === null ? "wait" : r.ok ? "ok" : "bad";
}

function setResult(productId, key, vars, ok) {
  result = { productId, key, vars, ok };
  render();
}

async function place(productId, qty, key = orderKey(), resend = false, optionId = null) {
  pending.set(key, { productId, qty, optionId });
  savePending();
  render();
  // resent with the same key until answered (after `busy` too: onRetry says so meanwhile)
  const answer = await client.order(productId, qty, key, { resend, optionId });
  pending.delete(key);
  retrying.delete(key);
  savePending();
  paused = !answer.ok && answer.error === "unavailable";
  renderStatus();
  if (answer.ok) {
    myOrders = [...myOrders.filter((o) => o.id !== answer.order.id), answer.order];
    const ok = answer.order.preorder ? "ok_pre" : answer.repeat ? "ok_repeat" : "ok";
    setResult(productId, ok, { id: orderNumber(answer.order), d: answer.order.ships_from }, true);
    if (!delivery) openDelivery();
    await loadOrders();
  } else {
    const n = answer.stock;
    const sold = answer.error === "sold_out" && n > 0;
    setResult(productId, sold ? "err_sold_out_n" : `err_${answer.error}`, { n }, false);
  }
}

// --- delivery details ----------------------------------------------------------------------

function openDelivery() {
  deliveryOpen = true;
  const form = $("delivery-form");
  const saved = delivery || {};
  for (const name of FIELDS) form.elements[name].value = saved[name] || (name === "street" ? saved.address || "" : "");
  if (!form.elements.country.value) form.elements.country.value = t("home_country");
  form.elements.toasts.checked = saved.toasts === true;
  $("delivery-saved").textContent = "";
  clearFieldErrors();
  renderDelivery();
  form.elements.name.focus();
}

/** Always there while the buyer has orders: the details with "edit", or a prominent "add". */
function renderDelivery() {
  const hasOrders = myOrders.some((o) => o.status !== "cancelled" && o.status !== "expired");
  $("delivery").hidden = !deliveryOpen && !hasOrders;
  $("delivery-form").hidden = !deliveryOpen;
  $("delivery-missing").hidden = deliveryOpen || !!delivery;
  $("delivery-summary").hidden = deliveryOpen || !delivery;
  if (delivery) {
    $("delivery-who").textContent = `${delivery.name} · ${delivery.phone}`;
    const where = delivery.full_address || [delivery.city, delivery.street || delivery.address].filter(Boolean).join(" ");
    $("delivery-where").textContent = [where, delivery.postcode].filter(Boolean).join(" ");
  }
}

function clearFieldErrors() {
  for (const name of FIELDS) showFieldError(name, null);
}

function showFieldError(name, message) {
  const input = $("delivery-form").elements[name];
  const box = $(`e-${name}`);
  box.textContent = message || "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

$("delivery-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const details = Object.fromEntries(FIELDS.map((n) => [n, form.elements[n].value.trim()]));
  details.toasts = form.elements.toasts.checked;
  clearFieldErrors();
  $("delivery-saved").textContent = "";
  const missing = REQUIRED.filter((n) => !details[n]);
  if (missing.length) {
    missing.forEach((n) => showFieldError(n, t(`err_field_${n}`)));
    form.elements[missing[0]].focus();
    return;
  }
  const r = await fetch("/api/buyer/profile", {
    method: "PUT", headers: { "X-Buyer": token, "Content-Type": "application/json" }, body: JSON.stringify(details),
  }).catch(() => null);
  const answer = r ? await r.json().catch(() => null) : null;
  if (r && r.ok && answer) {
    delivery = answer.profile;
    localStorage.setItem(DELIVERY, JSON.stringify(delivery));
    $("delivery-saved").textContent = t("saved");
    setTimeout(() => { deliveryOpen = false; renderDelivery(); }, 800);
  } else if (answer && answer.field && FIELDS.includes(answer.field)) {
    // the server's rule, said in the buyer's language next to the field it is about
    showFieldError(answer.field, t(`err_field_${answer.field}`));
    form.elements[answer.field].focus();
  } else {
    $("delivery-saved").textContent = t("save_failed");
  }
});
$("edit-delivery").onclick = openDelivery;
$("add-delivery").onclick = openDelivery;

function applyLanguage() {
  document.documentElement.lang = lang;
  t = translator(lang);
  document.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
  const button = $("lang");
  button.textContent = t("language");
  button.setAttribute("aria-label", t("lang_label"));
  const form = $("delivery-form");
  for (const name of FIELDS) if (!$(`e-${name}`).hidden) showFieldError(name, t(`err_field_${name}`));
  renderStatus();
  render();
  if (form.hidden) return;
  const country = form.elements.country;
  if (country.value === translator(lang === "en" ? "zh-CN" : "en")("home_country")) country.value = t("home_country");
}
$("lang").onclick = () => {
  lang = lang === "en" ? "zh-CN" : "en";
  localStorage.setItem("sunlit-live-lang", lang);
  // the server draws the next visit in it too
  document.cookie = `sunlit-live-lang=${lang}; path=/; max-age=31536000; SameSite=Lax`;
  applyLanguage();
};

tickDeals((left) => t("deal_ends", { t: left }), render);

applyLanguage(); // draws the page from the snapshot it came with: the buy button works from here
// Orders tapped before a reload or while offline go out again, with the same key.
// They may have gone out before the reload, so each is a retry of its key.
for (const [key, intent] of pending) place(intent.productId, intent.qty, key, true, intent.optionId);
loadOrders();
