// Options (sizes, weights), pre-orders and gift boxes on the buy page. Loaded only by a show
// that sells some, so the page of a show without them stays as small as it was (the budget in
// tests/e2e/test_buy_page.py).
import { STRINGS, countdown, money } from "./i18n.js";
import { dealRunning } from "./live-client.js";
import { el } from "./page.js";

Object.assign(STRINGS["zh-CN"], {
  options: "规格", choose_option: "请先选择规格", left_in: "{o} 剩 {n} 件", only_left_in: "{o} 仅剩 {n} 件！",
  sold_out_in: "{o} 已售罄", per_kg: "约 {p}/公斤", pre: "预售",
  pre_line: "预售 · {d} 起发货 · 还可预订 {n} 件", pre_line_in: "{o} 预售 · {d} 起发货 · 还可预订 {n} 件",
  ok_pre: "✓ 预订成功！订单号 {id}，{d} 起发货",
});
Object.assign(STRINGS.en, {
  options: "Options", choose_option: "Choose an option first", left_in: "{n} left in {o}",
  only_left_in: "Only {n} left in {o}!", sold_out_in: "{o} is sold out", per_kg: "≈ {p}/kg", pre: "pre-order",
  pre_line: "Pre-order · ships from {d} · {n} more can be ordered",
  pre_line_in: "{o}: pre-order · ships from {d} · {n} more can be ordered",
  ok_pre: "✓ Pre-ordered! Order number {id}, ships from {d}",
});
if (!document.querySelector("link[data-options]")) {
  const css = el("link");
  css.rel = "stylesheet";
  css.href = new URL("./buy-options.css", import.meta.url).href;
  css.dataset.options = "";
  document.head.append(css);
}

let key = "";
let chosen = new Map(); // product id -> the option chosen, kept across reloads of the show's page
let onChoose = () => {};

export function setup(showId, changed) {
  key = `sunlit-live-options-${showId}`;
  chosen = new Map(Object.entries(JSON.parse(localStorage.getItem(key) || "{}")));
  onChoose = changed;
}

const hasOptions = (p) => Array.isArray(p.options) && p.options.length > 0;

/** The option chosen (the only one when there is one); null without options or a choice. */
export function option(p) {
  if (!hasOptions(p)) return null;
  if (p.options.length === 1) return p.options[0];
  return p.options.find((o) => o.id === chosen.get(p.id)) || null;
}

/** What an order takes from: the chosen option, or the product; null while none is chosen. */
const cell = (p) => (hasOptions(p) ? option(p) : p);
/** Units pre-orders may still take: only once the stock is gone (live.domain.preorder_room). */
const room = (c) => (c.stock > 0 ? 0 : Math.max(0, (c.preorder_cap || 0) - (c.preordered || 0)));

/** How many units an order may take now: the stock, else the pre-order room. */
export function units(p) {
  const c = cell(p);
  return !c ? 0 : c.stock > 0 ? c.stock : room(c);
}

/** Nothing left anywhere: no stock and no pre-order room in any option. */
export function soldOut(p) {
  return (hasOptions(p) ? p.options : [p]).every((c) => c.stock <= 0 && room(c) <= 0);
}

/** Why the buy button waits: no option chosen, or nothing left of the chosen one. */
export function reason(p, t) {
  if (hasOptions(p) && !option(p)) return soldOut(p) ? t("sold_out") : t("choose_option");
  return units(p) > 0 ? "" : t("sold_out");
}

/** The chosen option's price now: its own or the product's; a running deal takes the same
 * amount off an own price (live.domain.option_unit_price), unless that leaves nothing. */
function prices(p) {
  const o = option(p);
  const own = o && o.price !== null && o.price !== undefined;
  const normal = own ? o.price : p.price;
  if (!dealRunning(p)) return { now: normal, was: null };
  const now = own ? normal - (p.price - p.deal_price) : p.deal_price;
  return now > 0 ? { now, was: normal } : { now: normal, was: null };
}

export function priceBlock(p, t, lang) {
  const box = el("div", "price");
  const o = option(p);
  const { now, was } = prices(p);
  box.append(el("span", "now", money(now, p.currency, lang)));
  const unit = (o && o.unit) || p.unit;
  if (unit) box.append(el("span", "unit", `/ ${unit}`));
  // per kg, so jars of different weights compare at a glance
  if (o && o.weight_g) box.append(el("span", "per-kg", t("per_kg", { p: money(Math.round((now * 1000) / o.weight_g), p.currency, lang) })));
  if (was !== null) {
    const s = el("s", "was", money(was, p.currency, lang));
    s.setAttribute("aria-label", `${t("was")} ${money(was, p.currency, lang)}`);
    const clock = el("span", "deal", t("deal_ends", { t: countdown(p.deal_ends_at) }));
    clock.dataset.endsAt = p.deal_ends_at;
    box.append(s, clock);
  }
  return box;
}

export function stockLine(p, t) {
  const c = cell(p);
  if (!c) {
    // no option chosen yet: the product's total
    if (soldOut(p)) return el("p", "stock out", t("sold_out"));
    return el("p", "stock", t("left", { n: p.stock }));
  }
  const o = c === p ? null : c;
  const vars = { n: c.stock, o: o && o.name, d: c.ships_from };
  if (c.stock <= 0 && room(c) > 0) {
    // a pre-order, said before the tap: when it ships and how many more may be ordered
    return el("p", "stock pre", t(o ? "pre_line_in" : "pre_line", { ...vars, n: room(c) }));
  }
  if (c.stock <= 0) return el("p", "stock out", o ? t("sold_out_in", vars) : t("sold_out"));
  const low = c.stock <= 5;
  if (!o) return el("p", low ? "stock low" : "stock", t(low ? "only_left" : "left", vars));
  return el("p", low ? "stock low" : "stock", t(low ? "only_left_in" : "left_in", vars));
}

/** A row of chips: sold-out ones stay in the row, struck through. A gift box (bundles, issue
 * 13) has none: a small line says what is in it instead. */
export function chips(p, t, locked) {
  if (p.parts) return [el("p", "parts", p.parts.map((x) => `${x.qty} × ${x.name}`).join(" + "))];
  if (!hasOptions(p)) return [];
  const row = el("div", "chips");
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", t("options"));
  const current = option(p);
  for (const o of p.options) {
    const out = o.stock <= 0 && room(o) <= 0;
    const chip = el("button", `chip${out ? " out" : ""}${current === o ? " on" : ""}`, "");
    chip.type = "button";
    chip.append(out ? el("s", "", o.name) : document.createTextNode(o.name));
    chip.setAttribute("aria-pressed", String(current === o));
    if (out) chip.setAttribute("aria-label", `${o.name} · ${t("sold_out")}`);
    chip.disabled = locked || (out && current !== o);
    chip.onclick = () => {
      chosen.set(p.id, o.id);
      localStorage.setItem(key, JSON.stringify(Object.fromEntries(chosen)));
      onChoose(p);
    };
    row.append(chip);
  }
  return [row];
}
