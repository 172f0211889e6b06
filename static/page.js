// What the buy page, the overlay and the console share: finding and making elements, the
// address of a show's socket, and the deal countdowns that tick in place.
import { countdown } from "./i18n.js";

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new element, with a class and text if given. Always text, never HTML: names come from hosts. */
export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A show's socket on this page's own host (wss: when the page came over https:). `kind` is
 * "" for a buyer, "overlay" or "host"; `query` the socket's parameters.
 */
export function showSocketUrl(showId, kind = "", query = {}) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const path = `/ws/shows/${encodeURIComponent(showId)}${kind ? `/${kind}` : ""}`;
  const search = new URLSearchParams(query).toString();
  return `${scheme}://${location.host}${path}${search ? `?${search}` : ""}`;
}

/**
 * Deal countdowns that tick in place, without redrawing the page (a redraw would wipe what the
 * host is typing). Every second each element with a `data-ends-at` (a Unix time; empty: no
 * deal) gets `text(left, node)`, `left` as countdown() writes it; once one has run out,
 * `expired()` redraws, once per tick. Returns one tick, to draw the time at once.
 */
export function tickDeals(text, expired) {
  const tick = () => {
    const now = Date.now() / 1000;
    let over = false;
    for (const node of document.querySelectorAll("[data-ends-at]")) {
      const endsAt = Number(node.dataset.endsAt);
      if (!endsAt) continue;
      if (endsAt <= now) over = true;
      else node.textContent = text(countdown(endsAt, now), node);
    }
    if (over) expired();
  };
  setInterval(tick, 1000);
  return tick;
}
