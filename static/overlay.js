// The OBS overlay: the featured product, price, stock bar, SOLD OUT, countdown, toasts, QR.
// Query parameters: layout=landscape|vertical, x and y (card position, % of the frame),
// scale, theme=dark|light, lang=zh-CN|en, qr=0 to hide the QR code, toasts=0 to hide buyer toasts.
import { connectShow, dealRunning } from "./live-client.js";
import { STRINGS, money, translator } from "./i18n.js";
import { $, showSocketUrl, tickDeals } from "./page.js";

const stage = document.getElementById("stage");
const params = new URLSearchParams(location.search);
// The server picked it: ?lang=, else the co-op's language, never the browser's (OBS says
// English whatever the co-op speaks).
const lang = stage.dataset.lang === "en" ? "en" : "zh-CN";
// Pre-orders (the buy page's words are in i18n.js; these only the overlay needs).
Object.assign(STRINGS["zh-CN"], { ov_pre: "件可预订 · {d} 起发货" });
Object.assign(STRINGS.en, { ov_pre: "to pre-order · ships {d}" });
const t = translator(lang);
/** Units pre-orders may still take, once the stock is gone (live.domain.preorder_room). */
const room = (c) => (c.stock > 0 ? 0 : Math.max(0, (c.preorder_cap || 0) - (c.preordered || 0)));

document.documentElement.lang = lang;
document.body.classList.add(params.get("layout") === "vertical" ? "vertical" : "landscape");
document.body.classList.add(params.get("theme") === "light" ? "light" : "dark");
const number = (name) => {
  const value = Number.parseFloat(params.get(name) ?? "");
  return Number.isFinite(value) ? value : null;
};
// Position and scale through CSSOM (allowed by the page's CSP, unlike style attributes).
const anchor = $("anchor");
const card = $("card");
const x = number("x");
const y = number("y");
const scale = number("scale");
if (x !== null) anchor.style.left = `${Math.min(100, Math.max(0, x))}%`;
if (y !== null) {
  anchor.style.top = `${Math.min(100, Math.max(0, y))}%`;
  anchor.style.bottom = "auto";
}
if (scale !== null) anchor.style.setProperty("--scale", String(Math.min(3, Math.max(0.3, scale))));

const showQr = params.get("qr") !== "0";
if (showQr) {
  $("qr-img").src = `/api/shows/${encodeURIComponent(stage.dataset.showId)}/qr.svg`;
  $("qr-img").alt = stage.dataset.shortUrl || "";
}
$("link-label").textContent = t("ov_or_open");
$("ended").textContent = t("show_ended");

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

// A long name wraps to two lines, then gets smaller down to 48 px (still legible after the
// stream shrinks it), then takes a third line: it is never cut ("… 500 g" must show).
function fitName() {
  const node = $("name");
  node.style.fontSize = "";
  const base = Number.parseFloat(getComputedStyle(node).fontSize);
  const lines = (size) => node.scrollHeight / (size * 1.15);
  for (let size = base; size >= 48; size -= 2) {
    node.style.fontSize = `${size}px`;
    if (lines(size) <= 2.1) return;
  }
}

// "500 g" stays on one line: a number and the short word after it (its unit) never part.
const keepUnits = (text) => text.replace(/(\d)[ \t]+(?=[^\s\d]{1,4}(?:\s|$))/gu, "$1\u00a0");

// The short link stays on one line: a long domain first makes it a little smaller, then drops
// the "or open" before it, then smaller still down to 32 px, and only then wraps. It must be
// readable whole to be typed.
let linkFitted = false;
const LINK_TRIES = [[true, 40], [true, 38], [true, 36], [false, 40], [false, 38], [false, 36], [false, 34], [false, 32]];
function fitLink() {
  const node = $("link");
  const fits = () => node.scrollWidth <= card.clientWidth - 60; // inside the card's padding
  let ok = false;
  for (const [label, size] of LINK_TRIES) {
    $("link-label").hidden = !label;
    node.style.fontSize = `${size}px`;
    if ((ok = fits())) break;
  }
  node.classList.toggle("wrap", !ok);
  linkFitted = true;
}

// Toasts float above the card; when the card is placed near the top (?y=), below it.
function placeToasts() {
  const top = anchor.getBoundingClientRect().top;
  anchor.classList.toggle("toasts-below", top < 300);
}

function render(state) {
  const show = state.show;
  const ended = Boolean(show && show.ended);
  const p = show && !ended && state.products.get(show.featured_product_id);
  card.classList.toggle("is-ended", ended);
  $("ended").hidden = !ended;
  if (ended) {
    // The show is over: say so, and nothing to scan or buy.
    card.hidden = false;
    $("qr").hidden = true;
    $("link").hidden = true;
    shownId = null;
    placeToasts();
    return;
  }
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
  const name = keepUnits(p.name);
  if ($("name").textContent !== name) {
    $("name").textContent = name;
    fitName();
  }
  const photo = $("photo");
  photo.hidden = !p.image_url;
  card.classList.toggle("no-photo", !p.image_url); // no empty frame where a photo would go
  if (p.image_url && photo.getAttribute("src") !== p.image_url) photo.src = p.image_url;
  const dealOn = dealRunning(p);
  $("price").textContent = money(dealOn ? p.deal_price : p.price, p.currency, lang);
  $("was").textContent = dealOn ? money(p.price, p.currency, lang) : "";
  $("was").hidden = !dealOn;
  $("deal").hidden = !dealOn;
  $("deal").dataset.endsAt = dealOn ? p.deal_ends_at : "";
  tick();
  // Once the stock is gone, a product taking pre-orders shows how many more may be ordered.
  const options = Array.isArray(p.options) ? p.options : [];
  const left = p.stock > 0 ? 0 : options.length ? options.reduce((n, o) => n + room(o), 0) : room(p);
  const preorder = left > 0;
  const shown = preorder ? left : p.stock;
  animateStock(shownStock, shown);
  shownStock = shown;
  const soldOut = p.stock <= 0 && !preorder;
  const ships = options.find((o) => room(o) > 0)?.ships_from || p.ships_from;
  $("stock-label").textContent = preorder ? t("ov_pre", { d: ships }) : t("stock_unit");
  card.classList.toggle("is-preorder", preorder);
  $("stock-label").hidden = soldOut; // the stamp takes its place, clear of the QR code
  const total = p.stock + p.sold;
  $("bar").style.width = `${total > 0 ? (100 * p.stock) / total : 0}%`;
  renderOptions(p);
  card.classList.toggle("is-soldout", soldOut);
  $("soldout").hidden = !soldOut;
  $("soldout").textContent = t("sold_out");
  // While ordering is paused the QR still leads to the page, but the prompt says to wait.
  const paused = !show.ordering_open;
  $("qr").hidden = !showQr;
  $("link").hidden = !showQr;
  $("prompt").textContent = paused ? t("ov_paused") : t("scan_to_buy");
  $("prompt").classList.toggle("paused", paused);
  if (showQr && !linkFitted) fitLink();
  placeToasts();
}

// Which sizes are left: a chip per option, a sold-out one struck through (never hidden, so
// viewers see the size is gone). At most MAX_CHIPS, then "+N": the card must stay readable.
const MAX_CHIPS = 12;
function renderOptions(p) {
  const box = $("options");
  if (Array.isArray(p.parts)) {
    // bundles (issue 13): a gift box says what is in it, in one line
    const line = document.createElement("span");
    line.className = "ov-parts";
    line.textContent = p.parts.map((x) => `${x.qty} × ${x.name}`).join(" + ");
    box.hidden = false;
    box.replaceChildren(line);
    return;
  }
  const options = Array.isArray(p.options) ? p.options : [];
  box.hidden = options.length === 0;
  const chips = options.slice(0, MAX_CHIPS).map((o) => {
    const out = o.stock <= 0 && room(o) <= 0;
    const chip = document.createElement(out ? "s" : "span");
    chip.className = out ? "ov-chip out" : o.stock <= 0 ? "ov-chip pre" : "ov-chip";
    chip.textContent = keepUnits(o.name);
    return chip;
  });
  if (options.length > MAX_CHIPS) {
    const more = document.createElement("span");
    more.className = "ov-chip more";
    more.textContent = `+${options.length - MAX_CHIPS}`;
    chips.push(more);
  }
  box.replaceChildren(...chips);
}

// The deal's countdown (its element's data-ends-at is empty while no deal runs).
const tick = tickDeals((left) => t("deal_ends", { t: left }), () => { if (client) render(client.state); });

function toast(msg) {
  if (!client) return;
  const state = client.state;
  const p = state.products.get(msg.product_id);
  const who = msg.name ? (msg.city ? `${msg.name} · ${msg.city}` : msg.name) : t("someone");
  const node = document.createElement("div");
  node.className = "ov-toast";
  const o = p && msg.option_id && Array.isArray(p.options) ? p.options.find((x) => x.id === msg.option_id) : null;
  node.textContent = `${t("bought", { who, n: msg.qty })}${p ? ` · ${p.name}` : ""}${o ? ` · ${o.name}` : ""}`;
  const box = $("toasts");
  box.append(node);
  // Vertical streams have less room above the card before the platform's top strip.
  const most = document.body.classList.contains("vertical") ? 2 : 3;
  while (box.children.length > most) box.firstElementChild.remove();
  setTimeout(() => node.classList.add("leave"), 3200);
  setTimeout(() => node.remove(), 3800);
}

let client = null; // set right below; callbacks may fire before connectShow returns
client = connectShow({
  url: showSocketUrl(stage.dataset.showId, "overlay", { key: stage.dataset.key }),
  onState: render,
  onMessage: (msg) => { if (msg.type === "sale" && params.get("toasts") !== "0") toast(msg); },
  onStatus: (status) => {
    document.body.dataset.connection = status;
    if (status === "refused") card.hidden = true; // a wrong or rotated key shows nothing
  },
});

// Fonts can arrive after the first render: fit the name again with the real glyphs.
document.fonts.ready.then(() => { if ($("name").textContent) fitName(); });

// OBS: when the source becomes visible again, start from a fresh snapshot.
window.addEventListener("obsSourceVisibleChanged", (event) => {
  if (event.detail && event.detail.visible) client.resync();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") client.resync();
});
