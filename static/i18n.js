// Every word the buy page and the overlay show, one table per language.
export const STRINGS = {
  "zh-CN": {
    live: "直播中", connecting: "连接中…", reconnecting: "重新连接中…", offline: "已断开，正在重连",
    paused: "下单暂停（服务器繁忙）", ended: "已结束", featured: "正在讲解", also_on_sale: "同时在售",
    producer: "生产者", left: "剩 {n} 件", only_left: "仅剩 {n} 件！", sold_out: "已售罄",
    sold: "已售 {n}", stock_unit: "件剩余", per_buyer: "每人限购 {n}", qty: "数量", less: "减少数量", more: "增加数量",
    buy: "立即购买", buy_one: "买 1 件", buying: "下单中…", queued: "网络恢复后自动提交",
    retrying: "排队重试中…", busy_retrying: "很多人在抢，正在为你排队重试…",
    not_on_sale: "暂未开售", ordering_closed: "下单已关闭", show_ended: "本场直播已结束",
    ended_thanks: "感谢观看！你的订单在下方。", ordering_paused: "暂停下单",
    paused_notice: "主播暂停了下单，恢复后这里会自动开放。",
    deal_ends: "限时价 剩 {t}", was: "原价",
    ok: "✓ 下单成功！订单号 {id}", ok_repeat: "✓ 这笔订单已成功（订单号 {id}）",
    err_sold_out: "已售罄，没抢到", err_sold_out_n: "库存只剩 {n} 件，请减少数量",
    err_limit_exceeded: "已达到每人限购数量", err_ordering_closed: "下单已关闭",
    err_not_on_sale: "该商品暂未开售", err_rate_limited: "操作太快了，请稍后再试",
    err_unavailable: "服务器繁忙，订单未提交，请重试", err_invalid: "请求无效，请刷新页面",
    err_busy: "服务器繁忙，请稍后再试",
    delivery: "收货信息", delivery_hint: "抢到了！请填写收货信息，只需填写一次。",
    add_delivery: "填写收货信息", add_delivery_hint: "填写收货信息后我们才能发货。",
    name: "收货人", phone: "手机号", country: "国家/地区", home_country: "中国", province: "省份",
    city: "城市", district: "区/县", street: "详细地址（街道、门牌号）", postcode: "邮编（选填）",
    address: "详细地址", save: "保存",
    err_field_name: "请填写收货人姓名（最多 50 字）",
    err_field_phone: "请填写正确的手机号，如 138 0013 8000；境外号码以 + 和国家代码开头",
    err_field_city: "请填写城市（最多 50 字）", err_field_street: "请填写街道和门牌号（最多 300 字）",
    err_field_postcode: "邮编为 6 位数字（境外按当地格式）", err_field_province: "最多 50 字",
    err_field_district: "最多 50 字", err_field_country: "最多 50 字", err_field: "请检查这一项",
    toasts_ok: "下单提示里可以显示我的姓氏和城市",
    saved: "✓ 已保存", edit: "修改收货信息", save_failed: "保存失败，请检查后重试",
    my_orders: "我的订单", no_orders: "还没有订单",
    status_claimed: "已抢到", status_paid: "已付款", status_shipped: "已发货", status_cancelled: "已取消",
    status_expired: "已过期",
    scan_to_buy: "扫码下单", bought: "{who} 买了 {n} 件", someone: "有人",
    ov_paused: "暂停下单", ov_or_open: "或打开",
    language: "English", lang_label: "切换语言",
  },
  en: {
    live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline — reconnecting",
    paused: "Ordering paused (server busy)", ended: "Ended", featured: "Now showing", also_on_sale: "Also on sale",
    producer: "From", left: "{n} left", only_left: "Only {n} left!", sold_out: "Sold out",
    sold: "{n} sold", stock_unit: "left", per_buyer: "Max {n} per buyer", qty: "Quantity", less: "Fewer", more: "More",
    buy: "Buy now", buy_one: "Buy 1", buying: "Ordering…", queued: "Will be sent when back online",
    retrying: "Retrying…", busy_retrying: "Lots of buyers right now — retrying your order…",
    not_on_sale: "Not on sale yet", ordering_closed: "Ordering is closed", show_ended: "This show has ended",
    ended_thanks: "Thank you for watching! Your orders are below.", ordering_paused: "Paused",
    paused_notice: "Ordering is paused for now; it reopens here by itself.",
    deal_ends: "Deal ends in {t}", was: "Was",
    ok: "✓ Ordered! Order number {id}", ok_repeat: "✓ This order went through (number {id})",
    err_sold_out: "Sold out — missed this one", err_sold_out_n: "Only {n} left: choose fewer",
    err_limit_exceeded: "You have reached the limit per buyer", err_ordering_closed: "Ordering is closed",
    err_not_on_sale: "This product is not on sale", err_rate_limited: "Too fast — try again in a moment",
    err_unavailable: "Server busy: not ordered, please try again", err_invalid: "Invalid request — reload the page",
    err_busy: "Server busy — try again in a moment",
    delivery: "Delivery details", delivery_hint: "Got it! Where should we send it? You only do this once.",
    add_delivery: "Add delivery details", add_delivery_hint: "We need them to send your order.",
    name: "Name", phone: "Phone", country: "Country/region", home_country: "China", province: "Province",
    city: "City", district: "District", street: "Street and number", postcode: "Postcode (optional)",
    address: "Address", save: "Save",
    err_field_name: "Enter the recipient's name (up to 50 characters)",
    err_field_phone: "Enter a valid phone number, e.g. 138 0013 8000; numbers abroad start with + and the country code",
    err_field_city: "Enter the city (up to 50 characters)", err_field_street: "Enter the street and house number (up to 300 characters)",
    err_field_postcode: "Postcodes in China have 6 digits (abroad: as written there)", err_field_province: "Up to 50 characters",
    err_field_district: "Up to 50 characters", err_field_country: "Up to 50 characters", err_field: "Please check this",
    toasts_ok: "Show my initial and city in sale announcements",
    saved: "✓ Saved", edit: "Edit delivery details", save_failed: "Could not save — check and try again",
    my_orders: "My orders", no_orders: "No orders yet",
    status_claimed: "Claimed", status_paid: "Paid", status_shipped: "Shipped", status_cancelled: "Cancelled",
    status_expired: "Expired",
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
