// Every word the buy page and the overlay show, one table per language.
export const STRINGS = {
  "zh-CN": {
    live: "直播中", connecting: "连接中…", reconnecting: "重新连接中…", offline: "已断开，正在重连",
    paused: "下单暂停（服务器繁忙）", featured: "正在讲解", also_on_sale: "同时在售",
    producer: "生产者", left: "剩 {n} 件", only_left: "仅剩 {n} 件！", sold_out: "已售罄",
    sold: "已售 {n}", stock_unit: "件剩余", per_buyer: "每人限购 {n}", qty: "数量", less: "减少数量", more: "增加数量",
    buy: "立即购买", buy_one: "买 1 件", buying: "下单中…", queued: "网络恢复后自动提交",
    not_on_sale: "暂未开售", ordering_closed: "下单已关闭", show_ended: "本场直播已结束",
    deal_ends: "限时价 剩 {t}", was: "原价",
    ok: "✓ 下单成功！订单号 {id}", ok_repeat: "✓ 这笔订单已成功（订单号 {id}）",
    err_sold_out: "已售罄，没抢到", err_sold_out_n: "库存只剩 {n} 件，请减少数量",
    err_limit_exceeded: "已达到每人限购数量", err_ordering_closed: "下单已关闭",
    err_not_on_sale: "该商品暂未开售", err_rate_limited: "操作太快了，请稍后再试",
    err_unavailable: "服务器繁忙，订单未提交，请重试", err_invalid: "请求无效，请刷新页面",
    delivery: "收货信息", delivery_hint: "抢到了！请填写收货信息，只需填写一次。",
    name: "姓名", phone: "手机号", address: "详细地址", city: "城市", save: "保存",
    toasts_ok: "下单提示里可以显示我的姓氏和城市",
    saved: "✓ 已保存", edit: "修改收货信息", save_failed: "保存失败，请检查后重试",
    my_orders: "我的订单", no_orders: "还没有订单",
    status_claimed: "已抢到", status_paid: "已付款", status_shipped: "已发货", status_cancelled: "已取消",
    scan_to_buy: "扫码下单", bought: "{who} 买了 {n} 件", someone: "有人",
    ov_paused: "暂停下单", ov_or_open: "或打开",
    language: "English", lang_label: "切换语言",
  },
  en: {
    live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline — reconnecting",
    paused: "Ordering paused (server busy)", featured: "Now showing", also_on_sale: "Also on sale",
    producer: "From", left: "{n} left", only_left: "Only {n} left!", sold_out: "Sold out",
    sold: "{n} sold", stock_unit: "left", per_buyer: "Max {n} per buyer", qty: "Quantity", less: "Fewer", more: "More",
    buy: "Buy now", buy_one: "Buy 1", buying: "Ordering…", queued: "Will be sent when back online",
    not_on_sale: "Not on sale yet", ordering_closed: "Ordering is closed", show_ended: "This show has ended",
    deal_ends: "Deal ends in {t}", was: "Was",
    ok: "✓ Ordered! Order number {id}", ok_repeat: "✓ This order went through (number {id})",
    err_sold_out: "Sold out — missed this one", err_sold_out_n: "Only {n} left: choose fewer",
    err_limit_exceeded: "You have reached the limit per buyer", err_ordering_closed: "Ordering is closed",
    err_not_on_sale: "This product is not on sale", err_rate_limited: "Too fast — try again in a moment",
    err_unavailable: "Server busy: not ordered, please try again", err_invalid: "Invalid request — reload the page",
    delivery: "Delivery details", delivery_hint: "Got it! Where should we send it? You only do this once.",
    name: "Name", phone: "Phone", address: "Address", city: "City", save: "Save",
    toasts_ok: "Show my initial and city in sale announcements",
    saved: "✓ Saved", edit: "Edit delivery details", save_failed: "Could not save — check and try again",
    my_orders: "My orders", no_orders: "No orders yet",
    status_claimed: "Claimed", status_paid: "Paid", status_shipped: "Shipped", status_cancelled: "Cancelled",
    scan_to_buy: "Scan to buy", bought: "{who} bought {n}", someone: "Someone",
    ov_paused: "Ordering paused", ov_or_open: "or open",
    language: "中文", lang_label: "Switch language",
  },
};

/** The language to use: ?lang=, then the saved choice, then the browser's. */
export function pickLanguage(search = location.search, storage = localStorage, nav = navigator) {
  const asked = new URLSearchParams(search).get("lang");
  const saved = storage && storage.getItem("sunlit-live-lang");
  const wanted = asked || saved || (nav.languages && nav.languages[0]) || nav.language || "en";
  return wanted.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** t("left", {n: 3}) in the given language. */
export function translator(lang) {
  const table = STRINGS[lang] || STRINGS.en;
  return (key, vars = {}) =>
    (table[key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Money in minor units, shown as the currency's major units. */
export function money(minor, currency = "CNY", lang = "zh-CN") {
  try {
    return new Intl.NumberFormat(lang, { style: "currency", currency, currencyDisplay: "narrowSymbol" })
      .format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/** "2:05" or "1:02:05" until a Unix time. */
export function countdown(endsAt, now = Date.now() / 1000) {
  const left = Math.max(0, Math.floor(endsAt - now));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
