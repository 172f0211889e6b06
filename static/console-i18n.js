// The console's words, money and order labels, in the page's language. The words come from the
// server (live/console_i18n.py, the same table as the server-rendered pages), in the page.
import { money as formatMoney } from "./i18n.js";

export const lang = document.documentElement.lang || "zh-CN";
const node = document.getElementById("console-text");
const table = node ? JSON.parse(node.textContent) : {};

/** t("left", {n: 3}); a key's `_one` form is used when n is 1. */
export function t(key, vars = {}) {
  const text = (vars.n === 1 && table[`${key}_one`]) || table[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Minor units in their currency, as this language writes it: $12.50, €3.00, each in its own currency. */
export const money = (minor, currency) => formatMoney(minor, currency, lang);

/** A sum of amounts in (possibly) several currencies, one term each: "€120.00 + $15.00". */
export function moneySum(items, fallbackCurrency) {
  const by = new Map();
  for (const { amount, currency } of items) by.set(currency, (by.get(currency) || 0) + amount);
  if (!by.size) return fallbackCurrency ? money(0, fallbackCurrency) : "0";
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([c, m]) => money(m, c)).join(" + ");
}

/** "$" for USD, "€" for EUR: what the product form's price label shows. */
export function currencySymbol(currency) {
  try {
    const parts = new Intl.NumberFormat(lang, { style: "currency", currency, currencyDisplay: "narrowSymbol" })
      .formatToParts(0);
    return (parts.find((p) => p.type === "currency") || {}).value || currency;
  } catch {
    return currency;
  }
}

/** How people name an order: its number (#0042) when it has one, else its id. */
export function orderLabel(order) {
  return Number.isInteger(order.number) && order.number > 0 ? `#${String(order.number).padStart(4, "0")}` : order.id;
}

export const clock = (seconds) =>
  new Date(seconds * 1000).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** The small version of an uploaded photo (uploads have one beside them), else the photo. */
export function thumbOf(url) {
  const m = /^\/media\/([A-Za-z0-9_-]+)\.webp$/.exec(url || "");
  return m && !m[1].endsWith("-thumb") ? `/media/${m[1]}-thumb.webp` : url;
}
