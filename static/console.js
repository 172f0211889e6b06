// The host console: catalog and shows (dashboard), and live control of one show.
import { connectShow, dealRunning } from "./live-client.js";
import { countdown } from "./i18n.js";
import { clock, currencySymbol, money, moneySum, orderLabel, t, thumbOf } from "./console-i18n.js";
import { $, el, showSocketUrl, tickDeals } from "./page.js";

const csrf = document.body.dataset.csrf;
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

// Share links: click to select, a button to copy (the clipboard API needs HTTPS or localhost;
// elsewhere the selected text is copied the old way).
for (const share of document.querySelectorAll(".share")) {
  const input = share.querySelector("input");
  const copy = share.querySelector("button.copy");
  input.addEventListener("focus", () => input.select());
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      document.execCommand("copy");
    }
    copy.textContent = t("copied");
    setTimeout(() => { copy.textContent = t("copy"); }, 1500);
  });
}

// --- dashboard ---------------------------------------------------------------------------
/** "5" or, with options, "5 (37: 3 · 38: 2 · 39: 0)". */
function stockText(p) {
  if (!Array.isArray(p.options) || !p.options.length) return String(p.stock);
  return `${p.stock} (${p.options.map((o) => `${o.name}: ${o.stock}`).join(" · ")})`;
}

async function dashboard() {
  let products = [];
  const form = $("product-form");
  const priceLabel = () => { $("price-label").textContent = t("price_in", { symbol: currencySymbol(form.elements.currency.value) }); };
  form.elements.currency.addEventListener("change", priceLabel);
  function setCurrency(code) {
    const select = form.elements.currency;
    if (![...select.options].some((o) => o.value === code)) select.append(el("option", "", code));
    select.value = code;
    priceLabel();
  }

  // The product's options, as rows of the form: existing ones keep their id (and their stock,
  // which moves live from the show page); new ones start with the stock typed here.
  const optionRows = $("option-rows");
  function optionRow(o = {}) {
    const li = el("li", "option-row");
    if (o.id) li.dataset.optionId = o.id;
    const field = (name, label, attrs) => {
      const box = el("label", "", label);
      const input = el("input");
      input.name = name;
      Object.assign(input, attrs);
      box.append(input);
      li.append(box);
      return input;
    };
    field("o_name", t("option_name"), { value: o.name || "", maxLength: 200, required: true });
    const stock = field("o_stock", t(o.id ? "option_stock" : "option_new_stock"), { type: "number", min: "0", step: "1", value: String(o.stock ?? 0) });
    stock.disabled = Boolean(o.id);
    const symbol = currencySymbol(form.elements.currency.value);
    field("o_price", t("option_price", { symbol }), { type: "number", min: "0", step: "0.01", value: o.price == null ? "" : (o.price / 100).toFixed(2) });
    field("o_unit", t("option_unit"), { value: o.unit || "", maxLength: 32 });
    field("o_grams", t("option_grams"), { type: "number", min: "1", step: "1", value: o.weight_g ?? "" });
    field("o_cap", t("preorder_cap"), { type: "number", min: "0", step: "1", value: String(o.preorder_cap || 0) });
    field("o_ships", t("ships_from"), { type: "date", value: o.ships_from || "" });
    const icons = el("div", "icons");
    const up = button("↑", () => { if (li.previousElementSibling) li.previousElementSibling.before(li); }, "icon");
    up.setAttribute("aria-label", t("move_up"));
    const down = button("↓", () => { if (li.nextElementSibling) li.nextElementSibling.after(li); }, "icon");
    down.setAttribute("aria-label", t("move_down"));
    const drop = button("✕", () => { li.remove(); syncStockField(); }, "icon danger");
    drop.setAttribute("aria-label", t("remove"));
    icons.append(up, down, drop);
    li.append(icons);
    return li;
  }
  function optionsOfForm() {
    return [...optionRows.children].map((li) => {
      const v = (name) => li.querySelector(`[name=${name}]`).value.trim();
      const o = { name: v("o_name"), unit: v("o_unit"), price: v("o_price") === "" ? null : Math.round(Number(v("o_price")) * 100) };
      o.weight_g = v("o_grams") === "" ? null : Number(v("o_grams"));
      o.preorder_cap = Number(v("o_cap") || 0);
      o.ships_from = v("o_ships");
      if (li.dataset.optionId) o.id = li.dataset.optionId;
      else o.stock = Number(v("o_stock") || 0);
      return o;
    });
  }
  // With options, the product's stock is theirs: its own field is left out.
  function syncStockField() {
    const has = optionRows.children.length > 0 || partRows.children.length > 0 || editingBox;
    form.elements.stock.disabled = has;
    form.elements.stock.required = !has;
    if (has) form.elements.stock.placeholder = t("stock_in_options");
    else form.elements.stock.placeholder = "";
  }
  // bundles (issue 13): a new gift box's parts, chosen from the catalog (fixed once it is made)
  const partRows = $("part-rows");
  let editingBox = false;
  function partRow() {
    const li = el("li", "option-row");
    const pick = el("label", "", t("part_product"));
    const select = el("select");
    select.name = "part";
    for (const p of products.filter((x) => !x.parts && !x.archived)) {
      const cells = p.options && p.options.length ? p.options.map((o) => [`${p.id}|${o.id}`, `${p.name} ${o.name}`]) : [[p.id, p.name]];
      for (const [value, label] of cells) {
        const option = el("option", "", label);
        option.value = value;
        select.append(option);
      }
    }
    pick.append(select);
    const qty = el("label", "", t("part_qty"));
    const input = el("input");
    Object.assign(input, { name: "part_qty", type: "number", min: "1", step: "1", value: "1" });
    qty.append(input);
    const drop = button("✕", () => { li.remove(); syncStockField(); }, "icon danger");
    drop.setAttribute("aria-label", t("remove"));
    li.append(pick, qty, drop);
    return li;
  }
  const partsOfForm = () => [...partRows.children].map((li) => {
    const [product_id, option_id] = li.querySelector("[name=part]").value.split("|");
    return { product_id, option_id: option_id || null, qty: Number(li.querySelector("[name=part_qty]").value || 1) };
  });
  $("add-part").onclick = () => {
    partRows.append(partRow());
    syncStockField();
  };
  $("add-option").onclick = () => {
    optionRows.append(optionRow());
    syncStockField();
    optionRows.lastElementChild.querySelector("input").focus();
  };

  const showArchived = $("show-archived");
  async function load() {
    // Archived products are out of the way unless asked for (and never offered for a lineup).
    products = (await api("GET", `/api/products${showArchived.checked ? "?archived=1" : ""}`)).products;
    const shows = (await api("GET", "/api/shows")).shows;
    const list = $("shows");
    list.replaceChildren(...shows.map((s) => {
      const li = el("li", s.ended ? "ended" : "");
      li.dataset.showId = s.id;
      const a = el("a", "", s.title);
      a.href = `/host/shows/${s.id}`;
      const state = s.ended ? "ended" : s.ordering_open ? "open" : "paused";
      li.append(a, " ", el("span", `badge show-${state}`, t(`show_${state}`)));
      return li;
    }));
    if (!shows.length) list.append(el("li", "muted", t("no_shows")));
    $("lineup-choices").replaceChildren(...products.filter((p) => !p.archived).map((p) => {
      const label = el("label", "choice");
      const box = el("input");
      box.type = "checkbox";
      box.value = p.id;
      label.append(box, document.createTextNode(` ${p.name}`));
      return label;
    }));
    const body = $("products").querySelector("tbody");
    body.replaceChildren(...products.map((p) => {
      const tr = el("tr", p.archived ? "archived" : "");
      tr.dataset.productId = p.id;
      const photo = el("td");
      if (p.image_url) {
        const img = el("img", "thumb");
        img.src = thumbOf(p.image_url);
        img.alt = "";
        photo.append(img);
      }
      const name = el("td", "", p.name);
      if (p.archived) name.append(" ", el("span", "badge", t("archived")));
      tr.append(photo, name, el("td", "", p.producer), el("td", "", money(p.price, p.currency)),
        el("td", "", stockText(p)), el("td", "", String(p.sold)), el("td", "", p.limit_per_buyer ?? "—"));
      const actions = el("td");
      const box = el("div", "row-actions");
      box.append(button(t("edit"), () => edit(p)));
      // Archiving keeps the product, its orders and the shows holding it; it only leaves the
      // catalog and can't join a lineup. One tap back.
      box.append(button(t(p.archived ? "unarchive" : "archive"), async () => {
        try {
          await api("PATCH", `/api/products/${p.id}`, { archived: !p.archived });
          await load();
        } catch (err) {
          $("product-error").textContent = err.message;
        }
      }, p.archived ? "" : "quiet"));
      actions.append(box);
      tr.append(actions);
      return tr;
    }));
    // A new product is most likely in the currency of the latest one.
    if (!form.elements.id.value && products.length) {
      setCurrency(products.reduce((a, b) => (b.created_at > a.created_at ? b : a)).currency);
    }
  }
  function edit(p) {
    form.elements.id.value = p.id;
    for (const f of ["name", "producer", "unit", "description"]) form.elements[f].value = p[f] || "";
    form.elements.price.value = (p.price / 100).toFixed(2);
    form.elements.stock.value = p.stock;
    form.elements.limit_per_buyer.value = p.limit_per_buyer ?? "";
    form.elements.preorder_cap.value = p.preorder_cap || "";
    form.elements.ships_from.value = p.ships_from || "";
    setCurrency(p.currency);
    optionRows.replaceChildren(...(p.options || []).map((o) => optionRow(o)));
    partRows.replaceChildren();
    $("parts-editor").hidden = true; // a box's parts are fixed; a product stays one
    editingBox = Boolean(p.parts);
    syncStockField();
    $("product-form-title").textContent = t("edit_product", { name: p.name });
    $("product-cancel").hidden = false;
    form.scrollIntoView({ behavior: "smooth" });
  }
  $("product-cancel").onclick = () => {
    const currency = form.elements.currency.value;
    form.reset();
    form.elements.id.value = "";
    setCurrency(currency);
    optionRows.replaceChildren();
    partRows.replaceChildren();
    $("parts-editor").hidden = false;
    editingBox = false;
    syncStockField();
    $("product-form-title").textContent = t("new_product");
    $("product-cancel").hidden = true;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("product-error").textContent = "";
    const busy = $("product-busy");
    try {
      const f = form.elements;
      const body = {
        name: f.name.value.trim(), producer: f.producer.value.trim(), unit: f.unit.value.trim(),
        description: f.description.value, price: Math.round(Number(f.price.value) * 100), currency: f.currency.value,
        stock: Number(f.stock.value), limit_per_buyer: f.limit_per_buyer.value ? Number(f.limit_per_buyer.value) : null,
        preorder_cap: Number(f.preorder_cap.value || 0), ships_from: f.ships_from.value,
      };
      const file = f.photo.files[0];
      if (file) {
        busy.textContent = t("uploading");
        body.image_url = (await api("PUT", "/api/uploads", file, file.type || "application/octet-stream")).url;
      }
      const options = optionsOfForm();
      const existing = f.id.value ? products.find((p) => p.id === f.id.value) : null;
      if (options.length) body.stock = 0; // the options' stock is the product's
      const parts = partsOfForm(); // bundles (issue 13): a box's stock is what its parts allow
      if (parts.length) body.stock = 0;
      if (existing) {
        // the stock of a product with options moves through them (the show page's buttons)
        if (options.length || (existing.options && existing.options.length) || existing.parts) delete body.stock;
        await api("PATCH", `/api/products/${existing.id}`, body);
        if (options.length) await api("PUT", `/api/products/${existing.id}/options`, { options });
      } else {
        if (options.length) body.options = options;
        if (parts.length) body.parts = parts;
        await api("POST", "/api/products", body);
      }
      $("product-cancel").onclick();
      await load();
    } catch (err) {
      $("product-error").textContent = err.message;
    } finally {
      busy.textContent = "";
    }
  });
  showArchived.addEventListener("change", () => load());
  $("new-show").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...$("lineup-choices").querySelectorAll("input:checked")].map((b) => b.value);
    try {
      const fields = event.target.elements;
      const hold_seconds = Number(fields.hold_seconds.value); // holds (issue 14)
      const show = await api("POST", "/api/shows", { title: fields.title.value.trim(), product_ids: ids, hold_seconds });
      location.href = `/host/shows/${show.id}`;
    } catch (err) {
      $("show-error").textContent = err.message;
    }
  });
  await load();
}

// --- show control ------------------------------------------------------------------------
const CANCELLABLE = new Set(["claimed", "paid"]);
const LIVE = new Set(["claimed", "paid", "shipped"]);
// Money in hand: paid, and shipped unless it went cash on delivery.
const isPaid = (o) => o.status === "paid" || (o.status === "shipped" && !o.cash_on_delivery);

async function control() {
  const showId = $("control").dataset.showId;
  const base = `/api/shows/${showId}`;
  let orders = [];
  let ordersTried = false; // until the first answer, a closed show may be new or paused
  let lineup = [];
  let clusters = []; // from GET …/clusters: many orders behind one phone or address
  let suspects = new Map(); // order id → the clusters it is in
  const selected = new Set();
  const client = connectShow({
    url: showSocketUrl(showId, "host"),
    onState: () => { renderLineup(); refreshOrders(); },
    onMessage: (msg) => { if (msg.type === "sale" || msg.type === "stock") refreshOrders(); },
    onStatus: (status) => { $("conn").textContent = t(`conn_${status}`); $("conn").dataset.state = status; },
  });
  const act = (fn) => async () => {
    try {
      await fn();
    } catch (err) {
      alert(err.message); // eslint-disable-line no-alert
    }
  };
  const feature = (id) => api("POST", `${base}/featured`, { product_id: id });
  const currencyOf = () => (lineup[0] ? lineup[0].currency : undefined);

  // The catalog a product can be added from (not archived), fetched when the add list opens.
  let catalog = [];
  const names = new Map(); // every product seen: orders keep naming one after it leaves the lineup
  async function loadCatalog() {
    try {
      catalog = (await api("GET", "/api/products")).products.filter((p) => !p.archived);
      for (const p of catalog) names.set(p.id, p.name);
    } catch { /* the list keeps what it had */ }
    renderAddChoices();
  }
  function renderAddChoices() {
    const select = $("add-product");
    const chosen = select.value;
    const inShow = new Set(lineup.map((p) => p.id));
    const choices = catalog.filter((p) => !inShow.has(p.id));
    select.replaceChildren(el("option", "", t(choices.length ? "add_choose" : "add_none")),
      ...choices.map((p) => { const o = el("option", "", `${p.name} · ${money(p.price, p.currency)} · ${t("left", { n: p.stock })}`); o.value = p.id; return o; }));
    select.options[0].value = "";
    if (choices.some((p) => p.id === chosen)) select.value = chosen;
  }
  // Every lineup change is one PUT of the whole new lineup; the screen follows the fresh
  // snapshot the host socket gets.
  const putLineup = (ids) => api("PUT", `${base}/lineup`, { product_ids: ids });
  function move(index, by) {
    const ids = lineup.map((p) => p.id);
    const [id] = ids.splice(index, 1);
    ids.splice(index + by, 0, id);
    return putLineup(ids);
  }
  async function remove(p) {
    const n = orders.filter((o) => o.product_id === p.id && LIVE.has(o.status)).length;
    if (n && !confirm(t("remove_q", { name: p.name, n }))) return; // eslint-disable-line no-alert
    await putLineup(lineup.map((q) => q.id).filter((id) => id !== p.id));
  }
  $("lineup-add").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("add-product").value;
    if (id) act(() => putLineup([...lineup.map((p) => p.id), id]))();
  });
  $("add-product").addEventListener("focus", loadCatalog);
  $("add-product").addEventListener("pointerdown", loadCatalog);

  function renderShow(show) {
    const ended = Boolean(show.ended);
    $("ended").hidden = !ended;
    $("live-controls").hidden = ended;
    $("keys-hint").hidden = ended;
    $("lineup-add").hidden = ended;
    $("end-show").hidden = ended;
    $("control").classList.toggle("is-ended", ended);
    const open = show.ordering_open;
    // A show closed without a single order was never opened: it offers to open, not to resume.
    const fresh = !open && ordersTried && orders.length === 0;
    const toggle = $("ordering");
    // Closing is a harmless pause (the on-sale marks stay): one tap each way, no question.
    toggle.textContent = t(open ? "pause_ordering" : fresh ? "open_ordering" : "resume_ordering");
    toggle.classList.toggle("on", open);
    toggle.onclick = act(() => api("POST", `${base}/ordering`, { open: !open }));
    const pill = $("ordering-state");
    pill.textContent = t(open ? "ordering_is_open" : fresh ? "ordering_not_open" : "ordering_paused");
    pill.dataset.state = open ? "open" : fresh ? "new" : "paused";
    // Not drawn until the orders say which of the two a closed show is (no flash of the wrong word).
    for (const node of [toggle, pill]) node.classList.toggle("pending", !open && !ordersTried);
    const toasts = $("toasts");
    toasts.setAttribute("aria-checked", show.toasts ? "true" : "false");
    toasts.onclick = act(() => api("POST", `${base}/toasts`, { on: !show.toasts }));
  }

  function renderLineup() {
    const state = client.state;
    if (!state.show) return;
    lineup = [...state.products.values()];
    for (const p of lineup) names.set(p.id, p.name);
    renderShow(state.show);
    const ended = Boolean(state.show.ended);
    $("lineup").replaceChildren(...lineup.map((p, index) => {
      const featured = p.id === state.show.featured_product_id;
      const li = el("li", `item${featured ? " featured" : ""}`);
      li.dataset.productId = p.id;
      const head = el("div", "item-head");
      const name = el("div", "item-name");
      name.append(el("strong", "", p.name), el("span", "muted", ` ${p.producer || ""}`));
      head.append(name);
      if (!ended) {
        const edit = el("div", "item-edit");
        const up = button("↑", act(() => move(index, -1)), "icon");
        const down = button("↓", act(() => move(index, 1)), "icon");
        up.disabled = index === 0;
        down.disabled = index === lineup.length - 1;
        up.title = t("move_up"); up.setAttribute("aria-label", t("move_up_name", { name: p.name }));
        down.title = t("move_down"); down.setAttribute("aria-label", t("move_down_name", { name: p.name }));
        const drop = button("✕", act(() => remove(p)), "icon danger");
        drop.title = t("remove"); drop.setAttribute("aria-label", t("remove_name", { name: p.name }));
        edit.append(up, down, drop);
        head.append(edit);
      }
      const facts = el("div", "facts");
      const dealOn = dealRunning(p);
      const priceNode = el("span", "price", money(p.price, p.currency));
      if (dealOn) {
        priceNode.dataset.endsAt = p.deal_ends_at;
        priceNode.dataset.prefix = t("deal_running", { deal: money(p.deal_price, p.currency), price: money(p.price, p.currency) });
        priceNode.textContent = priceNode.dataset.prefix + countdown(p.deal_ends_at);
      }
      facts.append(priceNode);
      facts.append(el("span", p.stock > 0 ? "stock" : "stock out", p.stock > 0 ? t("left", { n: p.stock }) : t("sold_out")));
      if (!ended) facts.append(el("span", `badge ${p.on_sale ? "on" : ""}`, t(p.on_sale ? "on_sale" : "off_sale")));
      li.append(head, facts);
      if (ended) return li; // a finished show: what sold, nothing to start again
      const buttons = el("div", "buttons");
      buttons.append(
        button(t(featured ? "featured" : "feature"), act(() => feature(featured ? null : p.id)), `big ${featured ? "on" : ""}`),
        button(t(p.on_sale ? "take_off_sale" : "put_on_sale"), act(() => api("POST", `${base}/on_sale`, { product_id: p.id, on_sale: !p.on_sale }))),
      );
      const hasOptions = Array.isArray(p.options) && p.options.length > 0;
      if (!hasOptions && !p.parts) { // a box's stock is its parts' (bundles, issue 13)
        buttons.append(...stockButtons(`/api/products/${p.id}`, p.name, p.stock), ...harvest(p, null, p.name));
      }
      li.append(buttons);
      if (hasOptions) {
        // one line per option: its stock and its own +1, +10, set (big enough for a thumb)
        const lines = el("div", "option-stock");
        for (const o of p.options) {
          const line = el("div", "option-line");
          line.dataset.optionId = o.id;
          line.append(el("span", "option-name", o.name),
            el("span", o.stock > 0 ? "stock" : "stock out", o.stock > 0 ? t("left", { n: o.stock }) : t("sold_out")),
            ...stockButtons(`/api/products/${p.id}/options/${o.id}`, t("option_of", { name: p.name, option: o.name }), o.stock),
            ...harvest(p, o, t("option_of", { name: p.name, option: o.name })));
          lines.append(line);
        }
        li.append(lines);
      }
      const deal = el("form", "deal");
      const price = el("input");
      price.type = "number"; price.min = "0"; price.step = "0.01";
      price.placeholder = t("deal_placeholder", { symbol: currencySymbol(p.currency) });
      price.setAttribute("aria-label", t("deal_price_for", { name: p.name }));
      const minutes = el("input");
      minutes.type = "number"; minutes.min = "1"; minutes.value = "5"; minutes.setAttribute("aria-label", t("minutes"));
      deal.append(price, minutes, el("span", "muted", t("min")));
      const start = el("button", "", t("start_deal"));
      start.type = "submit";
      deal.append(start);
      if (dealOn) deal.append(button(t("end_deal"), act(() => api("POST", `${base}/deal`, { product_id: p.id, price: null }))));
      deal.onsubmit = (e) => {
        e.preventDefault();
        act(() => api("POST", `${base}/deal`, { product_id: p.id, price: Math.round(Number(price.value) * 100), ends_at: Date.now() / 1000 + Number(minutes.value) * 60 }))();
      };
      li.append(deal);
      return li;
    }));
    if (!lineup.length) $("lineup").append(el("li", "muted empty-lineup", t("lineup_empty")));
    renderAddChoices();
    const select = $("f-product");
    const known = new Set([...select.options].map((o) => o.value));
    if (lineup.some((p) => !known.has(p.id))) { // products stay in the filter after they leave the lineup
      for (const p of lineup) if (!known.has(p.id)) { const o = el("option", "", p.name); o.value = p.id; select.append(o); }
    }
  }

  /** +1, +10 and "set" for a product's stock or one option's (the path they PATCH). */
  function stockButtons(path, name, stock) {
    return [
      button("+1", act(() => api("PATCH", path, { stock_delta: 1 }))),
      button("+10", act(() => api("PATCH", path, { stock_delta: 10 }))),
      button(t("set_stock"), act(async () => {
        const n = prompt(t("stock_of", { name }), String(stock)); // eslint-disable-line no-alert
        if (n !== null) await api("PATCH", path, { stock: Number(n) });
      })),
    ];
  }

  /** Pre-orders waiting (product or option), and the one action for the harvest arriving:
   * it covers them and adds the rest to stock. Nothing while it takes none. */
  function harvest(p, o, name) {
    const c = o || p;
    if (!c.preorder_cap && !c.preordered) return [];
    const waiting = el("span", "badge preorder", t("preordered", { n: c.preordered || 0 }));
    const arrived = button(t("harvest"), act(async () => {
      const n = prompt(t("harvest_of", { name, n: c.preordered || 0 }), String(c.preordered || 0)); // eslint-disable-line no-alert
      if (n !== null) await api("POST", `/api/products/${p.id}/harvest`, { units: Number(n), option_id: o ? o.id : null });
    }));
    return [waiting, arrived];
  }

  let refreshing = null;
  function refreshOrders() {
    if (refreshing) return; // at most one refresh in flight, whatever the burst
    refreshing = setTimeout(async () => {
      try {
        orders = (await api("GET", `${base}/orders`)).orders;
        renderOrders();
        refreshClusters();
      } finally {
        refreshing = null;
        ordersTried = true;
        if (client.state.show) renderShow(client.state.show);
      }
    }, 300);
  }

  // Clusters follow the orders, at most once every few seconds however busy the sale is.
  const CLUSTERS_EVERY = 5000;
  let clustersAt = 0;
  let clustersTimer = null;
  function refreshClusters() {
    if (clustersTimer) return; // one is due already: it will see these orders too
    clustersTimer = setTimeout(async () => {
      clustersAt = Date.now();
      try {
        clusters = (await api("GET", `${base}/clusters`)).clusters;
        suspects = new Map();
        for (const c of clusters) for (const id of c.order_ids) suspects.set(id, [...(suspects.get(id) || []), c]);
        renderClusters();
        renderOrders();
      } catch { /* the next change of the orders asks again */ } finally {
        clustersTimer = null;
      }
    }, Math.max(0, clustersAt + CLUSTERS_EVERY - Date.now()));
  }

  const clusterValue = (c) => (c.kind === "phone" ? `+${c.value}` : c.value);
  function renderClusters() {
    const toggle = $("clusters-toggle");
    toggle.hidden = clusters.length === 0;
    toggle.textContent = t("clusters_toggle", { n: clusters.length });
    const open = clusters.length > 0 && toggle.getAttribute("aria-expanded") === "true";
    $("clusters").hidden = !open;
    $("clusters").querySelector("tbody").replaceChildren(...clusters.map((c) => {
      const tr = el("tr");
      tr.dataset.kind = c.kind;
      tr.append(el("td", "", t(`cluster_${c.kind}`)), el("td", "mono", clusterValue(c)), el("td", "num", String(c.buyers.length)),
        el("td", "num", String(c.orders)), el("td", "num", String(c.units)));
      return tr;
    }));
  }
  $("clusters-toggle").onclick = () => {
    const toggle = $("clusters-toggle");
    toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
    renderClusters();
  };

  function renderOrders() {
    const live = orders.filter((o) => LIVE.has(o.status));
    const sum = (list) => moneySum(list.map((o) => ({ amount: o.total, currency: o.currency })), currencyOf());
    $("paid").textContent = sum(live.filter(isPaid));
    $("claimed").textContent = sum(live.filter((o) => !isPaid(o)));
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
      tr.append(el("td", "", p.name), el("td", "", String(row.units)), el("td", "", money(row.total, p.currency)), el("td", "", String(p.stock)));
      return tr;
    }));
    drawChart(live);
    const status = $("f-status").value;
    const product = $("f-product").value;
    const who = $("f-buyer").value.trim().toLowerCase();
    const shown = orders.filter((o) => (!status || o.status === status) && (!product || o.product_id === product)
      && (!who || o.buyer.toLowerCase().includes(who) || (o.delivery && o.delivery.name.toLowerCase().includes(who))));
    // Only what can still be cancelled stays selected.
    const byId = new Map(orders.map((o) => [o.id, o]));
    for (const id of selected) if (!byId.has(id) || !CANCELLABLE.has(byId.get(id).status)) selected.delete(id);
    const body = $("orders").querySelector("tbody");
    body.replaceChildren(...shown.slice().reverse().map(orderRow));
    if (!shown.length) {
      const tr = el("tr", "empty");
      const td = el("td", "muted", t("no_orders"));
      td.colSpan = 7;
      tr.append(td);
      body.append(tr);
    }
    const pickable = shown.filter((o) => CANCELLABLE.has(o.status));
    const all = $("pick-all");
    all.checked = pickable.length > 0 && pickable.every((o) => selected.has(o.id));
    all.indeterminate = !all.checked && pickable.some((o) => selected.has(o.id));
    all.onchange = () => {
      for (const o of pickable) if (all.checked) selected.add(o.id); else selected.delete(o.id);
      renderOrders();
    };
    renderBulk();
  }

  function orderRow(o) {
    const label = orderLabel(o);
    const tr = el("tr", o.status);
    tr.dataset.orderId = o.id;
    const inClusters = suspects.get(o.id) || [];
    if (inClusters.length) tr.classList.add("suspect");
    const pick = el("td", "pick");
    if (CANCELLABLE.has(o.status)) {
      const box = el("input");
      box.type = "checkbox";
      box.checked = selected.has(o.id);
      box.setAttribute("aria-label", t("select_order", { id: label }));
      box.onchange = () => {
        if (box.checked) selected.add(o.id); else selected.delete(o.id);
        renderOrders();
      };
      pick.append(box);
    }
    const which = el("td", "order");
    which.append(el("strong", label === o.id ? "mono" : "", label), el("br"), el("span", "muted", clock(o.created_at)));
    const product = names.get(o.product_id) || o.product_id;
    const what = el("td", "", `${o.option_name ? t("option_of", { name: product, option: o.option_name }) : product} × ${o.qty}`);
    if (o.preorder) what.append(" ", el("span", "badge preorder", `${t("preorder")} · ${o.ships_from}`));
    const buyer = el("td", "buyer");
    if (o.delivery) buyer.append(el("span", "", [o.delivery.name, o.delivery.city].filter(Boolean).join(" · ")));
    else buyer.append(el("span", "flag", t("no_delivery")));
    for (const c of inClusters) {
      const mark = el("span", "badge suspect", t(`cluster_mark_${c.kind}`));
      mark.title = t("cluster_mark_title", { buyers: c.buyers.length, orders: c.orders, units: c.units, value: clusterValue(c) });
      buyer.append(" ", mark);
    }
    const state = el("td", "state");
    state.append(el("span", `badge ${o.status}`, t(`status_${o.status}`)));
    if (o.cash_on_delivery) {
      const cod = el("span", "badge cod", t("cod"));
      cod.title = t("cod_title");
      state.append(" ", cod);
    }
    const actions = el("td", "actions");
    const box = el("div", "row-actions");
    if (o.status === "claimed") box.append(button(t("mark_paid"), act(() => setStatus(o, { status: "paid" }))));
    if (CANCELLABLE.has(o.status)) {
      box.append(button(t("mark_shipped"), act(() => ship(o))));
      box.append(button(t("cancel"), act(async () => {
        if (confirm(t("cancel_q", { id: label, n: o.qty }))) { // eslint-disable-line no-alert
          await api("POST", `/api/orders/${o.id}/cancel`);
          refreshOrders();
        }
      }), "danger"));
    }
    actions.append(box);
    tr.append(pick, which, what, el("td", "num", money(o.total, o.currency)), buyer, state, actions);
    return tr;
  }

  async function setStatus(o, body) {
    await api("POST", `/api/orders/${o.id}/status`, body);
    refreshOrders();
  }

  // Shipping an order that is not paid is a choice: cash on delivery, said out loud.
  async function ship(o) {
    if (o.status === "paid") return setStatus(o, { status: "shipped" });
    if (!confirm(t("ship_unpaid_q", { id: orderLabel(o) }))) return; // eslint-disable-line no-alert
    return setStatus(o, { status: "shipped", unpaid: true });
  }

  function renderBulk() {
    const bar = $("bulk");
    bar.hidden = selected.size === 0;
    $("bulk-count").textContent = t("selected", { n: selected.size });
  }

  $("bulk-cancel").onclick = act(async () => {
    const chosen = orders.filter((o) => selected.has(o.id));
    if (!chosen.length) return;
    const units = chosen.reduce((s, o) => s + o.qty, 0);
    if (!confirm(t("bulk_cancel_q", { n: chosen.length, units }))) return; // eslint-disable-line no-alert
    const failed = [];
    for (const o of chosen) { // one at a time: a dozen calls, and a clear account of any failure
      try {
        await api("POST", `/api/orders/${o.id}/cancel`);
        selected.delete(o.id);
      } catch (err) {
        failed.push(`${orderLabel(o)}: ${err.message}`);
      }
    }
    refreshOrders();
    if (failed.length) throw new Error(t("bulk_failed", { n: failed.length, detail: failed.join("; ") }));
  });

  function drawChart(live) {
    const svg = $("chart");
    svg.replaceChildren();
    if (!live.length) return;
    const sorted = live.slice().sort((a, b) => a.created_at - b.created_at);
    const start = sorted[0].created_at;
    const end = Math.max(sorted[sorted.length - 1].created_at, start + 60);
    let sum = 0;
    const total = sorted.reduce((s, o) => s + o.total, 0) || 1;
    const points = ["0,100"];
    for (const o of sorted) {
      sum += o.total;
      points.push(`${((o.created_at - start) / (end - start)) * 600},${100 - (sum / total) * 92}`);
    }
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("class", "line");
    svg.append(line);
  }

  for (const id of ["f-status", "f-product", "f-buyer"]) $(id).addEventListener("input", renderOrders);
  $("end-show").onclick = act(async () => {
    if (!confirm(t("end_show_q"))) return; // eslint-disable-line no-alert
    await api("POST", `${base}/end`);
    // The socket says so too (show_ended); drawn at once in case it is reconnecting.
    client.state.show.ended = true;
    client.state.show.ordering_open = false;
    renderLineup();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || !client.state.show) return;
    if (client.state.show.ended) return; // a finished show: no key starts anything again
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
  loadCatalog();
  tickDeals((left, node) => node.dataset.prefix + left, renderLineup);
}

if ($("dashboard")) dashboard();
if ($("control")) control();
