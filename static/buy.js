// The buy page: the featured product large, one-tap buy, delivery details once, my orders.
import { buyerToken, connectShow, dealRunning, orderKey } from "./live-client.js";
import { countdown, money, pickLanguage, translator } from "./i18n.js";

const app = document.getElementById("app");
const showId = app.dataset.showId;
const token = buyerToken();
let lang = pickLanguage();
let t = translator(lang);
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text; // always text: names come from hosts
  return node;
};

const PENDING = `sunlit-live-pending-${showId}`;
const DELIVERY = "sunlit-live-delivery";
const pending = new Map(JSON.parse(localStorage.getItem(PENDING) || "[]"));
const qtys = new Map(); // product id -> chosen quantity
let myOrders = [];
let connection = "connecting";
let paused = false;
let lastFeatured = null;

function savePending() {
  localStorage.setItem(PENDING, JSON.stringify([...pending]));
}

let client = null; // set right below; callbacks may fire before connectShow returns
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/shows/${encodeURIComponent(showId)}?buyer=${token}`;
client = connectShow({
  url: wsUrl,
  onState: render,
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

// Orders tapped before a reload or while offline go out again, with the same key.
for (const [key, intent] of pending) place(intent.productId, intent.qty, key);

function bought(productId) {
  return myOrders
    .filter((o) => o.product_id === productId && o.status !== "cancelled")
    .reduce((sum, o) => sum + o.qty, 0);
}

function maxQty(p) {
  let max = Math.min(p.stock, 10000);
  if (p.limit_per_buyer) max = Math.min(max, p.limit_per_buyer - bought(p.id));
  return Math.max(0, max);
}

function unavailableReason(p) {
  const show = client.state.show;
  if (show.ended) return t("show_ended");
  if (!show.ordering_open) return t("ordering_closed");
  if (!p.on_sale) return t("not_on_sale");
  if (p.stock <= 0) return t("sold_out");
  return "";
}

function priceBlock(p) {
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
  if (p.stock <= 0) return el("p", "stock out", t("sold_out"));
  const low = p.stock <= 5;
  return el("p", low ? "stock low" : "stock", t(low ? "only_left" : "left", { n: p.stock }));
}

function buyControls(p, big) {
  const wrap = el("div", "buy-row");
  const reason = unavailableReason(p);
  const max = maxQty(p);
  const isPending = [...pending.values()].some((i) => i.productId === p.id);
  let qty = Math.min(Math.max(1, qtys.get(p.id) || 1), Math.max(1, max));
  qtys.set(p.id, qty);
  if (big) {
    const stepper = el("div", "stepper");
    stepper.setAttribute("role", "group");
    stepper.setAttribute("aria-label", t("qty"));
    const less = el("button", "step", "−");
    less.type = "button";
    less.setAttribute("aria-label", t("less"));
    less.disabled = qty <= 1 || !!reason;
    const value = el("output", "qty", String(qty));
    value.setAttribute("aria-label", t("qty"));
    const more = el("button", "step", "+");
    more.type = "button";
    more.setAttribute("aria-label", t("more"));
    more.disabled = qty >= max || !!reason;
    less.onclick = () => { qtys.set(p.id, qty - 1); render(); };
    more.onclick = () => { qtys.set(p.id, qty + 1); render(); };
    stepper.append(less, value, more);
    wrap.append(stepper);
  } else {
    qty = 1;
  }
  const button = el("button", big ? "button primary" : "button small", "");
  button.type = "button";
  button.textContent = isPending ? (connection === "live" ? t("buying") : t("queued"))
    : reason || (max <= 0 ? t("err_limit_exceeded") : big ? t("buy") : t("buy_one"));
  button.disabled = isPending || !!reason || max <= 0;
  button.onclick = () => place(p.id, qty);
  wrap.append(button);
  return wrap;
}

function productCard(p) {
  const card = el("article", "card");
  if (p.image_url) {
    const img = el("img", "photo");
    img.src = p.image_url;
    img.alt = p.name;
    img.loading = "lazy";
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
  body.append(priceBlock(p), stockLine(p));
  if (p.limit_per_buyer) body.append(el("p", "hint", t("per_buyer", { n: p.limit_per_buyer })));
  body.append(buyControls(p, true));
  card.append(body);
  if (p.stock <= 0) card.append(el("div", "stamp", t("sold_out")));
  return card;
}

function otherRow(p) {
  const row = el("li", "row");
  const info = el("div", "row-info");
  info.append(el("p", "row-name", p.name));
  const meta = el("p", "row-meta");
  meta.append(priceBlock(p), stockLine(p));
  info.append(meta);
  row.append(info, buyControls(p, false));
  return row;
}

function render() {
  if (!client || !client.state.show) return;
  const state = client.state;
  document.title = state.show.title;
  const products = [...state.products.values()];
  const featured = state.products.get(state.show.featured_product_id)
    || products.find((p) => p.on_sale) || null;
  const box = $("featured");
  const card = featured ? productCard(featured) : el("p", "empty", state.show.ended ? t("show_ended") : t("not_on_sale"));
  if (featured && featured.id !== lastFeatured) card.classList.add("enter"); // animate a change only
  lastFeatured = featured ? featured.id : null;
  box.replaceChildren(card);
  const others = products.filter((p) => p.on_sale && p !== featured);
  const list = el("ul", "rows");
  others.forEach((p) => list.append(otherRow(p)));
  $("others").replaceChildren(...(others.length ? [el("h2", "", t("also_on_sale")), list] : []));
  renderOrders();
}

function renderStatus() {
  const status = $("status");
  const key = paused ? "paused" : { live: "live", connecting: "connecting", closed: "offline", refused: "offline" }[connection] || "reconnecting";
  status.textContent = t(key);
  status.dataset.state = paused ? "paused" : connection;
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
    item.append(el("span", "order-name", `${p ? p.name : o.product_id} × ${o.qty}`));
    item.append(el("span", `badge ${o.status}`, t(`status_${o.status}`)));
    item.append(el("span", "order-id", `#${o.id}`));
    return item;
  }));
}

async function loadOrders() {
  try {
    const r = await fetch(`/api/shows/${encodeURIComponent(showId)}/my-orders`, { headers: { "X-Buyer": token } });
    if (r.ok) {
      myOrders = (await r.json()).orders;
      render();
    }
  } catch { /* offline: the list stays as it was */ }
}

function say(text, ok) {
  const box = $("result");
  box.textContent = text;
  box.className = `result ${ok ? "ok" : "bad"}`;
}

async function place(productId, qty, key = orderKey()) {
  pending.set(key, { productId, qty });
  savePending();
  render();
  const result = await client.order(productId, qty, key); // resent with the same key until answered
  pending.delete(key);
  savePending();
  paused = !result.ok && result.error === "unavailable";
  renderStatus();
  if (result.ok) {
    say(t(result.repeat ? "ok_repeat" : "ok", { id: result.order.id }), true);
    if (!localStorage.getItem(DELIVERY)) showDelivery(true);
    await loadOrders();
  } else {
    const n = result.stock;
    say(result.error === "sold_out" && n > 0 ? t("err_sold_out_n", { n }) : t(`err_${result.error}`), false);
  }
  render();
}

function showDelivery(open) {
  const panel = $("delivery");
  panel.hidden = !open;
  const saved = JSON.parse(localStorage.getItem(DELIVERY) || "null");
  const form = $("delivery-form");
  if (saved) {
    for (const name of ["name", "phone", "city", "address"]) form.elements[name].value = saved[name] || "";
    form.elements.toasts.checked = saved.toasts === true;
  }
  $("edit-delivery").hidden = open || !saved;
  if (open) form.elements.name.focus();
}

$("delivery-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const details = Object.fromEntries(["name", "phone", "city", "address"].map((n) => [n, form.elements[n].value.trim()]));
  details.toasts = form.elements.toasts.checked;
  const r = await fetch("/api/buyer/profile", {
    method: "PUT", headers: { "X-Buyer": token, "Content-Type": "application/json" }, body: JSON.stringify(details),
  }).catch(() => null);
  if (r && r.ok) {
    localStorage.setItem(DELIVERY, JSON.stringify(details));
    $("delivery-saved").textContent = t("saved");
    setTimeout(() => showDelivery(false), 800);
  } else {
    $("delivery-saved").textContent = t("save_failed");
  }
});
$("edit-delivery").onclick = () => showDelivery(true);

function applyLanguage() {
  document.documentElement.lang = lang;
  t = translator(lang);
  document.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
  const button = $("lang");
  button.textContent = t("language");
  button.setAttribute("aria-label", t("lang_label"));
  renderStatus();
  render();
}
$("lang").onclick = () => {
  lang = lang === "en" ? "zh-CN" : "en";
  localStorage.setItem("sunlit-live-lang", lang);
  applyLanguage();
};

// Deal countdowns tick every second without re-rendering the page.
setInterval(() => {
  document.querySelectorAll("[data-ends-at]").forEach((node) => {
    const left = Number(node.dataset.endsAt) - Date.now() / 1000;
    if (left <= 0) render();
    else node.textContent = t("deal_ends", { t: countdown(Number(node.dataset.endsAt)) });
  });
}, 1000);

applyLanguage();
showDelivery(false);
