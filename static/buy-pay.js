// The buyer's parcel (holds, issue 14): what to pay (items, shipping, total), by when, how
// (the co-op's receive codes and accounts), the reference to write in the transfer note, and
// "I have paid" with an optional screenshot. Loaded by buy.js once the buyer has an order, so
// the page of a viewer who has not bought stays as small as it was.
import { STRINGS, countdown, money, translator } from "./i18n.js";
import { $, el } from "./page.js";

Object.assign(STRINGS["zh-CN"], {
  parcel: "我的包裹", items: "商品", shipping_to: "运费（{r}）", shipping_free: "免运费", total: "合计",
  left_to_pay: "还需支付 {a}", pay_within: "请在 {t} 内付款", pay_late: "付款时间已过",
  reference: "付款备注码", reference_hint: "转账时请在备注中填写此码", how_to_pay: "付款方式",
  screenshot: "付款截图（可选）", i_paid: "我已付款", sending: "提交中…", send_failed: "提交失败，请重试",
  notice_pending: "已收到您的付款通知，合作社正在核对。", notice_rejected: "未能核对到您的付款：{r}",
  paid: "✓ 已付款，谢谢！", elsewhere: "其他地区", abroad: "境外",
});
Object.assign(STRINGS.en, {
  parcel: "Your parcel", items: "Items", shipping_to: "Shipping ({r})", shipping_free: "Free shipping",
  total: "Total", left_to_pay: "Left to pay: {a}", pay_within: "Pay within {t}", pay_late: "Time to pay is over",
  reference: "Payment reference", reference_hint: "Write it in the transfer note", how_to_pay: "How to pay",
  screenshot: "Screenshot of the transfer (optional)", i_paid: "I have paid", sending: "Sending…",
  send_failed: "Could not send — try again", notice_pending: "We got your notice; the co-op is checking the payment.",
  notice_rejected: "The co-op could not find your payment: {r}", paid: "✓ Paid — thank you!",
  elsewhere: "elsewhere", abroad: "abroad",
});
if (!document.querySelector("link[data-pay]")) {
  const css = el("link");
  css.rel = "stylesheet";
  css.href = new URL("./buy-pay.css", import.meta.url).href;
  css.dataset.pay = "";
  document.head.append(css);
}

let url = "";
let buyer = "";
let reload = () => {};
let parcel = null;
let waiting = false; // a run-out hold: the orders are read again once the server expired it
const lang = () => document.documentElement.lang || "zh-CN";

/** Show (or refresh) the buyer's parcel in the show. `orders` reads the buyer's orders again. */
export async function show(showId, token, orders) {
  if (!url) {
    url = `/api/shows/${encodeURIComponent(showId)}/my-parcel`;
    buyer = token;
    reload = orders;
    // buy.js redraws in the other language by setting <html lang>; a saved address reprices
    new MutationObserver(draw).observe(document.documentElement, { attributeFilter: ["lang"] });
    $("delivery-form").addEventListener("submit", () => setTimeout(refresh, 1500));
    setInterval(tick, 1000);
  }
  await refresh();
}

async function refresh() {
  const r = await fetch(`${url}?lang=${lang()}`, { headers: { "X-Buyer": buyer } }).catch(() => null);
  if (r && r.ok) {
    parcel = await r.json();
    draw();
  }
}

function section() {
  let node = $("parcel");
  if (!node) {
    node = el("section", "panel parcel");
    node.id = "parcel";
    $("orders").closest("section").before(node);
  }
  return node;
}

function tick() {
  const left = $("pay-left");
  if (!left || !parcel || !parcel.pay_by) return;
  const t = translator(lang());
  if (parcel.pay_by > Date.now() / 1000) {
    left.textContent = t("pay_within", { t: countdown(parcel.pay_by) });
  } else {
    left.textContent = t("pay_late");
    if (!waiting) {
      waiting = true;
      setTimeout(() => { waiting = false; reload(); }, 1500);
    }
  }
}

function draw() {
  const node = section();
  node.hidden = !parcel || parcel.status === "empty";
  if (node.hidden) return node.replaceChildren();
  const t = translator(lang());
  const cur = (minor) => money(minor, parcel.currency, lang());
  const sums = el("dl", "pay-sums");
  const region = ["elsewhere", "abroad"].includes(parcel.shipping_region) ? t(parcel.shipping_region) : parcel.shipping_region;
  const rows = [[t("items"), cur(parcel.items)],
    [parcel.shipping_free ? t("shipping_free") : t("shipping_to", { r: region }), cur(parcel.shipping)],
    [t("total"), cur(parcel.total)]];
  for (const [name, value] of rows) sums.append(el("dt", "", name), el("dd", "", value));
  const parts = [el("h2", "", t("parcel")), sums];
  if (parcel.status === "paid") {
    parts.push(el("p", "pay-done", t("paid")));
    node.replaceChildren(...parts);
    return;
  }
  if (parcel.to_pay !== parcel.total) parts.push(el("p", "pay-due", t("left_to_pay", { a: cur(parcel.to_pay) })));
  if (parcel.pay_by) {
    const left = el("p", "pay-left");
    left.id = "pay-left";
    parts.push(left);
  }
  const ref = el("p", "pay-ref");
  ref.append(el("span", "", `${t("reference")} `), el("strong", "pay-code", parcel.reference));
  parts.push(ref, el("p", "hint", t("reference_hint")));
  if (parcel.methods.length) parts.push(el("h3", "", t("how_to_pay")));
  for (const m of parcel.methods) {
    const box = el("div", "pay-method");
    box.append(el("h4", "", m.name));
    if (m.image_url) {
      const img = el("img", "pay-qr");
      img.src = m.image_url;
      img.alt = m.name;
      box.append(img);
    }
    if (m.details) box.append(el("p", "pay-details", m.details));
    if (m.instruction) box.append(el("p", "hint", m.instruction));
    parts.push(box);
  }
  const notice = parcel.notice;
  if (notice && notice.state === "pending") parts.push(el("p", "pay-notice", t("notice_pending")));
  if (notice && notice.state === "rejected") parts.push(el("p", "pay-notice bad", t("notice_rejected", { r: notice.reason })));
  parts.push(paidForm(t));
  node.replaceChildren(...parts);
  tick();
}

function paidForm(t) {
  const form = el("form", "pay-form");
  const label = el("label", "pay-file", t("screenshot"));
  const file = el("input");
  file.type = "file";
  file.accept = "image/*";
  label.append(file);
  const button = el("button", "button primary", t("i_paid"));
  button.type = "submit";
  const said = el("p", "hint");
  said.setAttribute("aria-live", "polite");
  form.append(label, button, said);
  form.onsubmit = async (event) => {
    event.preventDefault();
    button.disabled = true;
    said.textContent = t("sending");
    const shot = file.files[0];
    const headers = { "X-Buyer": buyer, ...(shot ? { "Content-Type": shot.type } : {}) };
    const r = await fetch(`${url}/paid?lang=${lang()}`, { method: "POST", headers, body: shot || null }).catch(() => null);
    if (r && r.ok) {
      parcel = await r.json();
      draw();
    } else {
      button.disabled = false;
      said.textContent = t("send_failed");
    }
  };
  return form;
}
