// Options (sizes, weights) on the buy page. Loaded only by a show that sells some, so the page
// of a show without them stays as small as it was (tests/e2e/test_buy_page.py's budget).
import { STRINGS, money } from "./i18n.js";
import { dealRunning } from "./live-client.js";
import { el } from "./page.js";

Object.assign(STRINGS["zh-CN"], {
  options: "规格", choose_option: "请先选择规格", left_in: "{o} 剩 {n} 件", only_left_in: "{o} 仅剩 {n} 件！",
  sold_out_in: "{o} 已售罄", per_kg: "约 {p}/公斤",
});
Object.assign(STRINGS.en, {
  options: "Options", choose_option: "Choose a size first", left_in: "{n} left in {o}",
  only_left_in: "Only {n} left in {o}!", sold_out_in: "{o} is sold out", per_kg: "≈ {p}/kg",
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

/** The option chosen (the only one when there is one), else null. */
export function option(p) {
  if (p.options.length === 1) return p.options[0];
  return p.options.find((o) => o.id === chosen.get(p.id)) || null;
}

/** Why the buy button waits: no option chosen, or the chosen one is sold out. */
export function reason(p, t) {
  const o = option(p);
  return !o ? t("choose_option") : o.stock <= 0 ? t("sold_out") : "";
}

/** The chosen option's price now: its own or the product's; a running deal takes the same
 * amount off an own price (live.domain.option_unit_price), unless that leaves nothing. */
export function prices(p) {
  const o = option(p);
  const own = o && o.price !== null && o.price !== undefined;
  const normal = own ? o.price : p.price;
  const unit = (o && o.unit) || p.unit;
  if (!dealRunning(p)) return { now: normal, was: null, unit };
  const now = own ? normal - (p.price - p.deal_price) : p.deal_price;
  return now > 0 ? { now, was: normal, unit } : { now: normal, was: null, unit };
}

/** The price per kg, so jars of different weights compare at a glance. */
export function perKg(box, p, now, t, lang) {
  const o = option(p);
  if (o && o.weight_g) box.append(el("span", "per-kg", t("per_kg", { p: money(Math.round((now * 1000) / o.weight_g), p.currency, lang) })));
}

export function stockLine(p, t) {
  const o = option(p);
  if (!o) return null;
  if (o.stock <= 0) return el("p", "stock out", t("sold_out_in", { o: o.name }));
  const low = o.stock <= 5;
  return el("p", low ? "stock low" : "stock", t(low ? "only_left_in" : "left_in", { n: o.stock, o: o.name }));
}

/** A row of chips: sold-out ones stay in the row, struck through. */
export function chips(p, t, locked) {
  const row = el("div", "chips");
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", t("options"));
  const current = option(p);
  for (const o of p.options) {
    const out = o.stock <= 0;
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
  return row;
}
