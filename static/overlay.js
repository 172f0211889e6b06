// The OBS overlay: the featured product, price, stock bar, SOLD OUT, countdown, toasts, QR.
// Query parameters: layout=landscape|vertical, x and y (card position, % of the frame),
// scale, theme=dark|light, lang=zh-CN|en, qr=0 to hide the QR code, toasts=0 to hide buyer toasts.
import { connectShow, dealRunning } from "./live-client.js";
import { countdown, money, pickLanguage, translator } from "./i18n.js";

const stage = document.getElementById("stage");
const params = new URLSearchParams(location.search);
const lang = pickLanguage();
const t = translator(lang);
const $ = (id) => document.getElementById(id);

document.documentElement.lang = lang;
document.body.classList.add(params.get("layout") === "vertical" ? "vertical" : "landscape");
document.body.classList.add(params.get("theme") === "light" ? "light" : "dark");
const number = (name) => {
  const value = Number.parseFloat(params.get(name) ?? "");
  return Number.isFinite(value) ? value : null;
};
// Position and scale through CSSOM (allowed by the page's CSP, unlike style attributes).
const card = $("card");
const x = number("x");
const y = number("y");
const scale = number("scale");
if (x !== null) card.style.left = `${Math.min(100, Math.max(0, x))}%`;
if (y !== null) {
  card.style.top = `${Math.min(100, Math.max(0, y))}%`;
  card.style.bottom = "auto";
}
if (scale !== null) card.style.setProperty("--scale", String(Math.min(3, Math.max(0.3, scale))));

if (params.get("qr") !== "0") {
  $("qr").hidden = false;
  $("qr-img").src = `/api/shows/${encodeURIComponent(stage.dataset.showId)}/qr.svg`;
  $("qr-img").alt = t("scan_to_buy");
  const code = (stage.dataset.shortUrl || "").split("/").pop();
  $("qr-text").textContent = code ? `${t("scan_to_buy")} · ${code}` : t("scan_to_buy");
}

let shownId = null;
let shownStock = null;
let tween = null;

function animateStock(from, to) {
  cancelAnimationFrame(tween);
  const node = $("stock");
  if (from === null || from === to) {
    node.textContent = String(to);
    return;
  }
  node.classList.remove("bump");
  void node.offsetWidth; // restart the flash
  node.classList.add("bump");
  const start = performance.now();
  const step = (now) => {
    const k = Math.min(1, (now - start) / 400);
    node.textContent = String(Math.round(from + (to - from) * k));
    if (k < 1) tween = requestAnimationFrame(step);
  };
  tween = requestAnimationFrame(step);
}

function render(state) {
  const show = state.show;
  const p = show && state.products.get(show.featured_product_id);
  if (!p) {
    card.hidden = true;
    shownId = null;
    return;
  }
  card.hidden = false;
  if (p.id !== shownId) {
    card.classList.remove("enter");
    void card.offsetWidth;
    card.classList.add("enter"); // a new product slides in
    shownStock = null;
    shownId = p.id;
  }
  $("name").textContent = p.name;
  const photo = $("photo");
  photo.hidden = !p.image_url;
  card.classList.toggle("no-photo", !p.image_url); // no empty frame where a photo would go
  if (p.image_url && photo.getAttribute("src") !== p.image_url) photo.src = p.image_url;
  const dealOn = dealRunning(p);
  $("price").textContent = money(dealOn ? p.deal_price : p.price, p.currency, lang);
  $("was").textContent = dealOn ? money(p.price, p.currency, lang) : "";
  $("deal").hidden = !dealOn;
  $("deal").dataset.endsAt = dealOn ? p.deal_ends_at : "";
  tick();
  animateStock(shownStock, p.stock);
  shownStock = p.stock;
  $("stock-label").textContent = p.stock > 0 ? t("stock_unit") : "";
  const total = p.stock + p.sold;
  $("bar").style.width = `${total > 0 ? (100 * p.stock) / total : 0}%`;
  const soldOut = p.stock <= 0;
  card.classList.toggle("is-soldout", soldOut);
  $("soldout").hidden = !soldOut;
  $("soldout").textContent = t("sold_out");
}

function tick() {
  const deal = $("deal");
  const endsAt = Number(deal.dataset.endsAt);
  if (!endsAt) return;
  if (endsAt <= Date.now() / 1000) {
    if (client) render(client.state);
    return;
  }
  deal.textContent = t("deal_ends", { t: countdown(endsAt) });
}
setInterval(tick, 1000);

function toast(msg) {
  if (!client) return;
  const state = client.state;
  const p = state.products.get(msg.product_id);
  const who = msg.name ? (msg.city ? `${msg.name} · ${msg.city}` : msg.name) : t("someone");
  const node = document.createElement("div");
  node.className = "ov-toast";
  node.textContent = `${t("bought", { who, n: msg.qty })}${p ? ` · ${p.name}` : ""}`;
  const box = $("toasts");
  box.append(node);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => node.classList.add("leave"), 3200);
  setTimeout(() => node.remove(), 3800);
}

let client = null; // set right below; callbacks may fire before connectShow returns
const scheme = location.protocol === "https:" ? "wss" : "ws";
const url = `${scheme}://${location.host}/ws/shows/${encodeURIComponent(stage.dataset.showId)}/overlay?key=${encodeURIComponent(stage.dataset.key)}`;
client = connectShow({
  url,
  onState: render,
  onMessage: (msg) => { if (msg.type === "sale" && params.get("toasts") !== "0") toast(msg); },
  onStatus: (status) => {
    document.body.dataset.connection = status;
    if (status === "refused") card.hidden = true; // a wrong or rotated key shows nothing
  },
});

// OBS: when the source becomes visible again, start from a fresh snapshot.
window.addEventListener("obsSourceVisibleChanged", (event) => {
  if (event.detail && event.detail.visible) client.resync();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") client.resync();
});
