// The console's payment pages (holds, issue 14): a show's payments to reconcile (counts and
// takings, the queue of parcels said paid, those about to expire), and the co-op's payment
// methods and shipping fees. Words come from the page (#pay-text); changes carry the CSRF token.
import { countdown, money } from "./i18n.js";
import { $, el } from "./page.js";

const words = JSON.parse($("pay-text").textContent);
const t = (key, vars = {}) => (words[key] ?? key).replace(/\{(\w+)\}/g, (_, n) => String(vars[n] ?? ""));
const lang = document.documentElement.lang;
const csrf = document.body.dataset.csrf;

async function api(method, path, body) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail || data.error || `HTTP ${r.status}`);
  return data;
}

// --- a show's payments ------------------------------------------------------------------------

const board = $("pay-board");
if (board) {
  const base = `/api/shows/${encodeURIComponent(board.dataset.showId)}/parcels`;
  const cur = (p, minor) => money(minor, p.currency, lang);
  let timer = 0;

  const act = (label, cls, run) => {
    const button = el("button", cls, label);
    button.type = "button";
    button.onclick = async () => {
      button.disabled = true;
      try {
        await run();
        $("pay-error").textContent = "";
      } catch (err) {
        $("pay-error").textContent = err.message;
      }
      await load();
    };
    return button;
  };

  const row = (p, withActions) => {
    const tr = el("tr");
    tr.dataset.reference = p.reference;
    const who = el("td", "", p.name || p.buyer.slice(0, 8));
    if (p.phone) who.append(el("br"), Object.assign(el("a", "", p.phone), { href: `tel:${p.phone}` }));
    const state = el("td", `pay-state-${p.status}`, t(`state_${p.status}`));
    if (p.notice) state.append(el("br"), el("span", `pay-said said-${p.notice.state}`, t(`notice_${p.notice.state}`)));
    if (p.proof_url) {
      state.append(" ");
      state.append(Object.assign(el("a", "", t("screenshot")), { href: p.proof_url, target: "_blank" }));
    }
    const due = el("td", "", p.pay_by ? countdown(p.pay_by) : "—");
    tr.append(el("td", "ref", p.reference), who, el("td", "num", cur(p, p.to_pay || p.total)),
      el("td", "num", cur(p, p.shipping)), due, state);
    const cell = el("td", "pay-acts");
    if (withActions && p.status === "unpaid") {
      cell.append(act(t("mark_paid"), "primary", () => api("POST", `${base}/${p.reference}/paid`)));
      cell.append(act(t("reject"), "", async () => {
        const reason = prompt(t("reject_reason"));
        if (reason) await api("POST", `${base}/${p.reference}/reject`, { reason });
      }));
    }
    tr.append(cell);
    return tr;
  };

  const table = (parcels, empty, withActions) => {
    if (!parcels.length) return el("p", "hint", empty);
    const head = el("tr");
    for (const k of ["reference", "buyer", "amount", "shipping", "time_left", "state", ""]) head.append(el("th", "", k && t(k)));
    const out = el("table", "pay-table");
    out.append(el("thead"), el("tbody"));
    out.tHead.append(head);
    out.tBodies[0].append(...parcels.map((p) => row(p, withActions)));
    return out;
  };

  async function load() {
    clearTimeout(timer);
    try {
      const q = $("pay-q").value.trim();
      const all = await api("GET", `${base}?q=${encodeURIComponent(q)}`);
      const c = all.counts;
      // No parcel yet: no currency to write, and nothing taken.
      const sum = (minor) => (all.parcels.length ? cur(all.parcels[0], minor) : (minor / 100).toFixed(2));
      $("pay-counts").replaceChildren(
        el("li", "unpaid", `${c.unpaid} ${t("unpaid")}`), el("li", "paid", `${c.paid} ${t("paid")}`),
        el("li", "expired", `${c.expired} ${t("expired_claims")}`),
        el("li", "takings", `${t("takings")} ${sum(all.takings)}`),
        el("li", "collect", `${t("to_collect")} ${sum(all.to_collect)}`));
      const pending = all.parcels.filter((p) => p.status === "unpaid" && p.notice && p.notice.state === "pending");
      const soon = Date.now() / 1000 + 30 * 60;
      const closing = all.parcels.filter((p) => p.status === "unpaid" && p.pay_by && p.pay_by <= soon)
        .sort((a, b) => a.pay_by - b.pay_by);
      $("pay-queue").replaceChildren(table(pending, t("queue_empty"), true));
      $("pay-closing").replaceChildren(table(closing, t("closing_empty"), true));
      $("pay-all").replaceChildren(table(all.parcels, "—", true));
    } catch (err) {
      $("pay-error").textContent = err.message;
    }
    timer = setTimeout(load, 5000); // counts and takings stay live
  }
  $("pay-q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 300); });
  load();
}

// --- the co-op's payment methods and shipping fees ------------------------------------------------

const settings = $("pay-settings");
if (settings) {
  const setup = JSON.parse($("pay-setup").textContent);
  const yuan = (fen) => (fen === null || fen === undefined ? "" : String(fen / 100));
  const fen = (text) => (text.trim() === "" ? null : Math.round(Number(text) * 100));

  const field = (label, input) => {
    const wrap = el("label", "", label);
    wrap.append(input);
    return wrap;
  };
  const input = (name, value = "", attrs = {}) => Object.assign(el("input"), { name, value, ...attrs });

  function methodBox(m = { kind: "wechat", name: "", image_url: "", details: "", instruction: {} }) {
    const box = el("fieldset", "method");
    const kind = el("select");
    kind.name = "kind";
    for (const k of ["wechat", "alipay", "bank", "other"]) kind.append(Object.assign(el("option", "", t(`kind_${k}`)), { value: k }));
    kind.value = m.kind;
    const image = input("image_url", m.image_url, { type: "hidden" });
    const preview = el("img", "qr-preview");
    if (m.image_url) preview.src = m.image_url;
    const file = input("file", "", { type: "file", accept: "image/*" });
    file.onchange = async () => {
      const r = await fetch("/api/uploads", { method: "PUT", headers: { "X-CSRF-Token": csrf, "Content-Type": file.files[0].type }, body: file.files[0] });
      const data = await r.json().catch(() => ({}));
      if (r.ok) preview.src = image.value = data.url;
      else $("methods-said").textContent = data.detail || data.error;
    };
    const details = Object.assign(el("textarea"), { name: "details", value: m.details, rows: 2 });
    const zh = Object.assign(el("textarea"), { name: "zh-CN", value: m.instruction["zh-CN"] || "", rows: 2 });
    const en = Object.assign(el("textarea"), { name: "en", value: m.instruction.en || "", rows: 2 });
    const remove = el("button", "", t("remove"));
    remove.type = "button";
    remove.onclick = () => box.remove();
    box.append(field(t("kind"), kind), field(t("name"), input("name", m.name, { required: true, maxLength: 50 })),
      field(t("image"), file), image, preview, field(t("details"), details),
      field(t("instruction_zh"), zh), field(t("instruction_en"), en), remove);
    return box;
  }

  function rateRow(region, rate, fixed) {
    const row = el("div", "rate");
    row.dataset.fixed = fixed || "";
    const name = fixed ? el("span", "region", t(fixed)) : input("region", region, { placeholder: t("region") });
    row.append(name, field(t("first_kg"), input("first", yuan(rate && rate.first), { inputmode: "decimal" })),
      field(t("extra_kg"), input("extra_kg", yuan(rate && rate.extra_kg), { inputmode: "decimal" })));
    if (!fixed) {
      const remove = el("button", "", t("remove"));
      remove.type = "button";
      remove.onclick = () => row.remove();
      row.append(remove);
    }
    return row;
  }

  $("methods").append(...setup.methods.map(methodBox));
  $("add-method").onclick = () => $("methods").append(methodBox());
  $("methods-form").onsubmit = async (event) => {
    event.preventDefault();
    const methods = [...$("methods").querySelectorAll(".method")].map((box) => {
      const v = (n) => box.querySelector(`[name="${n}"]`).value.trim();
      const instruction = {};
      if (v("zh-CN")) instruction["zh-CN"] = v("zh-CN");
      if (v("en")) instruction.en = v("en");
      return { kind: v("kind"), name: v("name"), image_url: v("image_url"), details: v("details"), instruction };
    });
    try {
      await api("PUT", "/api/payment-methods", { methods });
      $("methods-said").textContent = t("saved");
    } catch (err) {
      $("methods-said").textContent = err.message;
    }
  };

  const rules = setup.shipping;
  $("rates").append(rateRow("", rules.elsewhere, "elsewhere"), rateRow("", rules.abroad, "abroad"),
    ...Object.entries(rules.regions).map(([name, rate]) => rateRow(name, rate)));
  $("add-region").onclick = () => $("rates").append(rateRow("", null));
  $("shipping-form").elements.free_above.value = yuan(rules.free_above);
  $("shipping-form").onsubmit = async (event) => {
    event.preventDefault();
    const body = { elsewhere: { first: 0 }, regions: {}, abroad: null, free_above: fen(event.target.elements.free_above.value) };
    for (const row of $("rates").querySelectorAll(".rate")) {
      const v = (n) => row.querySelector(`[name="${n}"]`).value;
      const first = fen(v("first"));
      const rate = { first: first ?? 0, extra_kg: fen(v("extra_kg")) ?? 0 };
      if (row.dataset.fixed === "elsewhere") body.elsewhere = rate;
      else if (row.dataset.fixed === "abroad") body.abroad = first === null ? null : rate;
      else if (v("region").trim()) body.regions[v("region").trim()] = rate;
    }
    try {
      await api("PUT", "/api/shipping", body);
      $("shipping-said").textContent = t("saved");
    } catch (err) {
      $("shipping-said").textContent = err.message;
    }
  };
}
