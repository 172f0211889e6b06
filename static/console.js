// The host console: catalog and shows (dashboard), and live control of one show.
import { connectShow, dealRunning } from "./live-client.js";
import { countdown, money } from "./i18n.js";

const csrf = document.body.dataset.csrf;
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text; // names are always text
  return node;
};
const button = (label, onClick, cls = "") => {
  const b = el("button", cls, label);
  b.type = "button";
  b.onclick = onClick;
  return b;
};

async function api(method, path, body, raw) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
  if (raw) headers["Content-Type"] = raw;
  const r = await fetch(path, { method, headers, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail || data.error || `HTTP ${r.status}`);
  return data;
}
const yuan = (minor) => money(minor, "CNY", "zh-CN");

// --- dashboard ---------------------------------------------------------------------------
async function dashboard() {
  let products = [];
  async function load() {
    products = (await api("GET", "/api/products")).products;
    const shows = (await api("GET", "/api/shows")).shows;
    const list = $("shows");
    list.replaceChildren(...shows.map((s) => {
      const li = el("li");
      const a = el("a", "", s.title);
      a.href = `/host/shows/${s.id}`;
      li.append(a, el("span", "muted", s.ended ? " · ended" : s.ordering_open ? " · ordering open" : " · closed"));
      return li;
    }));
    if (!shows.length) list.append(el("li", "muted", "No shows yet."));
    $("lineup-choices").replaceChildren(...products.map((p) => {
      const label = el("label", "choice");
      const box = el("input");
      box.type = "checkbox";
      box.value = p.id;
      label.append(box, document.createTextNode(` ${p.name}`));
      return label;
    }));
    const body = $("products").querySelector("tbody");
    body.replaceChildren(...products.map((p) => {
      const tr = el("tr");
      const photo = el("td");
      if (p.image_url) {
        const img = el("img", "thumb");
        img.src = p.image_url;
        img.alt = "";
        photo.append(img);
      }
      tr.append(photo, el("td", "", p.name), el("td", "", p.producer), el("td", "", yuan(p.price)),
        el("td", "", String(p.stock)), el("td", "", String(p.sold)), el("td", "", p.limit_per_buyer ?? "—"));
      const actions = el("td");
      actions.append(button("Edit", () => edit(p)));
      tr.append(actions);
      return tr;
    }));
  }
  const form = $("product-form");
  function edit(p) {
    form.elements.id.value = p.id;
    for (const f of ["name", "producer", "unit", "description"]) form.elements[f].value = p[f] || "";
    form.elements.price.value = (p.price / 100).toFixed(2);
    form.elements.stock.value = p.stock;
    form.elements.limit_per_buyer.value = p.limit_per_buyer ?? "";
    $("product-form-title").textContent = `Edit ${p.name}`;
    $("product-cancel").hidden = false;
    form.scrollIntoView({ behavior: "smooth" });
  }
  $("product-cancel").onclick = () => {
    form.reset();
    form.elements.id.value = "";
    $("product-form-title").textContent = "New product";
    $("product-cancel").hidden = true;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("product-error").textContent = "";
    try {
      const f = form.elements;
      const body = {
        name: f.name.value.trim(), producer: f.producer.value.trim(), unit: f.unit.value.trim(),
        description: f.description.value, price: Math.round(Number(f.price.value) * 100),
        stock: Number(f.stock.value), limit_per_buyer: f.limit_per_buyer.value ? Number(f.limit_per_buyer.value) : null,
      };
      const file = f.photo.files[0];
      if (file) body.image_url = (await api("PUT", "/api/uploads", file, file.type || "application/octet-stream")).url;
      if (f.id.value) await api("PATCH", `/api/products/${f.id.value}`, body);
      else await api("POST", "/api/products", body);
      $("product-cancel").onclick();
      await load();
    } catch (err) {
      $("product-error").textContent = err.message;
    }
  });
  $("new-show").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...$("lineup-choices").querySelectorAll("input:checked")].map((b) => b.value);
    try {
      const show = await api("POST", "/api/shows", { title: event.target.elements.title.value.trim(), product_ids: ids });
      location.href = `/host/shows/${show.id}`;
    } catch (err) {
      $("show-error").textContent = err.message;
    }
  });
  await load();
}

// --- show control ------------------------------------------------------------------------
async function control() {
  const showId = $("control").dataset.showId;
  const base = `/api/shows/${showId}`;
  let orders = [];
  let lineup = [];
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client = connectShow({
    url: `${scheme}://${location.host}/ws/shows/${showId}/host`,
    onState: () => { renderLineup(); refreshOrders(); },
    onMessage: (msg) => { if (msg.type === "sale" || msg.type === "stock") refreshOrders(); },
    onStatus: (status) => { $("conn").textContent = status === "open" ? "● live" : status; $("conn").dataset.state = status; },
  });
  const act = (fn) => async () => {
    try {
      await fn();
    } catch (err) {
      alert(err.message); // eslint-disable-line no-alert
    }
  };
  const feature = (id) => api("POST", `${base}/featured`, { product_id: id });

  function renderLineup() {
    const state = client.state;
    if (!state.show) return;
    lineup = [...state.products.values()];
    const open = state.show.ordering_open;
    const toggle = $("ordering");
    toggle.textContent = open ? "Close ordering" : "Open ordering";
    toggle.classList.toggle("on", open);
    toggle.onclick = act(() => api("POST", `${base}/ordering`, { open: !open }));
    $("lineup").replaceChildren(...lineup.map((p) => {
      const featured = p.id === state.show.featured_product_id;
      const li = el("li", `item${featured ? " featured" : ""}`);
      const head = el("div", "item-head");
      head.append(el("strong", "", p.name), el("span", "muted", ` ${p.producer || ""}`));
      const facts = el("div", "facts");
      const dealOn = dealRunning(p);
      const priceNode = el("span", "price", dealOn ? `${yuan(p.deal_price)} (was ${yuan(p.price)}) · ends in ${countdown(p.deal_ends_at)}` : yuan(p.price));
      if (dealOn) {
        priceNode.dataset.endsAt = p.deal_ends_at;
        priceNode.dataset.prefix = `${yuan(p.deal_price)} (was ${yuan(p.price)}) · ends in `;
      }
      facts.append(priceNode);
      facts.append(el("span", p.stock > 0 ? "stock" : "stock out", p.stock > 0 ? `${p.stock} left` : "SOLD OUT"));
      facts.append(el("span", `badge ${p.on_sale ? "on" : ""}`, p.on_sale ? "on sale" : "off sale"));
      const buttons = el("div", "buttons");
      buttons.append(
        button(featured ? "★ Featured" : "Feature", act(() => feature(featured ? null : p.id)), `big ${featured ? "on" : ""}`),
        button(p.on_sale ? "Take off sale" : "Put on sale", act(() => api("POST", `${base}/on_sale`, { product_id: p.id, on_sale: !p.on_sale }))),
        button("+1", act(() => api("PATCH", `/api/products/${p.id}`, { stock_delta: 1 }))),
        button("+10", act(() => api("PATCH", `/api/products/${p.id}`, { stock_delta: 10 }))),
        button("Set stock", act(async () => {
          const n = prompt(`Stock of ${p.name}`, String(p.stock)); // eslint-disable-line no-alert
          if (n !== null) await api("PATCH", `/api/products/${p.id}`, { stock: Number(n) });
        })),
      );
      const deal = el("form", "deal");
      const price = el("input");
      price.type = "number"; price.min = "0"; price.step = "0.01"; price.placeholder = "deal ¥"; price.setAttribute("aria-label", `Deal price for ${p.name}`);
      const minutes = el("input");
      minutes.type = "number"; minutes.min = "1"; minutes.value = "5"; minutes.setAttribute("aria-label", "Minutes");
      deal.append(price, minutes, el("span", "muted", "min"));
      const start = el("button", "", "Start deal");
      start.type = "submit";
      deal.append(start);
      if (dealOn) deal.append(button("End deal", act(() => api("POST", `${base}/deal`, { product_id: p.id, price: null }))));
      deal.onsubmit = (e) => {
        e.preventDefault();
        act(() => api("POST", `${base}/deal`, { product_id: p.id, price: Math.round(Number(price.value) * 100), ends_at: Date.now() / 1000 + Number(minutes.value) * 60 }))();
      };
      li.append(head, facts, buttons, deal);
      return li;
    }));
    const select = $("f-product");
    if (select.options.length - 1 !== lineup.length) {
      select.replaceChildren(el("option", "", "all"), ...lineup.map((p) => { const o = el("option", "", p.name); o.value = p.id; return o; }));
      select.options[0].value = "";
    }
  }

  let refreshing = null;
  function refreshOrders() {
    if (refreshing) return; // at most one refresh a second, whatever the burst
    refreshing = setTimeout(async () => {
      try {
        orders = (await api("GET", `${base}/orders`)).orders;
        renderOrders();
      } finally {
        refreshing = null;
      }
    }, 300);
  }

  function renderOrders() {
    const live = orders.filter((o) => o.status !== "cancelled");
    const gmv = live.reduce((s, o) => s + o.total, 0);
    $("gmv").textContent = yuan(gmv);
    $("count").textContent = String(live.length);
    $("units").textContent = String(live.reduce((s, o) => s + o.qty, 0));
    const per = new Map();
    for (const o of live) {
      const row = per.get(o.product_id) || { units: 0, total: 0 };
      row.units += o.qty; row.total += o.total;
      per.set(o.product_id, row);
    }
    $("per-product").querySelector("tbody").replaceChildren(...lineup.map((p) => {
      const row = per.get(p.id) || { units: 0, total: 0 };
      const tr = el("tr");
      tr.append(el("td", "", p.name), el("td", "", String(row.units)), el("td", "", yuan(row.total)), el("td", "", String(p.stock)));
      return tr;
    }));
    drawChart(live);
    const status = $("f-status").value;
    const product = $("f-product").value;
    const who = $("f-buyer").value.trim().toLowerCase();
    const shown = orders.filter((o) => (!status || o.status === status) && (!product || o.product_id === product)
      && (!who || o.buyer.toLowerCase().includes(who) || (o.delivery && o.delivery.name.toLowerCase().includes(who))));
    $("orders").querySelector("tbody").replaceChildren(...shown.slice().reverse().map((o) => {
      const tr = el("tr", o.status);
      const p = client.state.products.get(o.product_id);
      const buyer = el("td");
      if (o.delivery) buyer.append(el("span", "", `${o.delivery.name} · ${o.delivery.city}`));
      else buyer.append(el("span", "flag", "⚠ no delivery details"));
      tr.append(el("td", "", new Date(o.created_at * 1000).toLocaleTimeString()), el("td", "mono", o.id),
        el("td", "", p ? p.name : o.product_id), el("td", "", String(o.qty)), el("td", "", yuan(o.total)), buyer,
        badgeCell(o.status));
      const actions = el("td", "actions");
      if (o.status === "claimed") actions.append(button("Paid", act(() => api("POST", `/api/orders/${o.id}/status`, { status: "paid" }).then(refreshOrders))));
      if (o.status === "claimed" || o.status === "paid") {
        actions.append(button("Shipped", act(() => api("POST", `/api/orders/${o.id}/status`, { status: "shipped" }).then(refreshOrders))));
        actions.append(button("Cancel", act(async () => {
          if (confirm(`Cancel order ${o.id} and return ${o.qty} to stock?`)) { // eslint-disable-line no-alert
            await api("POST", `/api/orders/${o.id}/cancel`);
            refreshOrders();
          }
        }), "danger"));
      }
      tr.append(actions);
      return tr;
    }));
  }

  function badgeCell(status) {
    const td = el("td");
    td.append(el("span", `badge ${status}`, status));
    return td;
  }

  function drawChart(live) {
    const svg = $("chart");
    svg.replaceChildren();
    if (!live.length) return;
    const times = live.map((o) => o.created_at).sort((a, b) => a - b);
    const start = times[0];
    const end = Math.max(times[times.length - 1], start + 60);
    const sorted = live.slice().sort((a, b) => a.created_at - b.created_at);
    let sum = 0;
    const total = sorted.reduce((s, o) => s + o.total, 0) || 1;
    const points = ["0,140"];
    for (const o of sorted) {
      sum += o.total;
      points.push(`${((o.created_at - start) / (end - start)) * 600},${140 - (sum / total) * 130}`);
    }
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("class", "line");
    svg.append(line);
  }

  for (const id of ["f-status", "f-product", "f-buyer"]) $(id).addEventListener("input", renderOrders);
  $("end-show").onclick = act(async () => {
    if (confirm("End the show? Ordering closes and nothing stays on sale.")) await api("POST", `${base}/end`); // eslint-disable-line no-alert
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || !client.state.show) return;
    const ids = lineup.map((p) => p.id);
    const at = ids.indexOf(client.state.show.featured_product_id);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = event.key === "ArrowDown" ? Math.min(ids.length - 1, at + 1) : Math.max(0, at - 1);
      if (ids[next]) act(() => feature(ids[next]))();
    } else if (event.key === "o" || event.key === "O") {
      act(() => api("POST", `${base}/ordering`, { open: !client.state.show.ordering_open }))();
    }
  });
  async function viewers() {
    try {
      $("viewers").textContent = String((await api("GET", `${base}/live`)).viewers);
    } catch { /* next time */ }
  }
  viewers();
  setInterval(viewers, 5000);
  // Deal countdowns tick in place (re-rendering would wipe what the host is typing).
  setInterval(() => {
    for (const node of document.querySelectorAll("[data-ends-at]")) {
      if (Number(node.dataset.endsAt) <= Date.now() / 1000) renderLineup();
      else node.textContent = node.dataset.prefix + countdown(Number(node.dataset.endsAt));
    }
  }, 1000);
}

if ($("dashboard")) dashboard();
if ($("control")) control();
