"""What the buy page's HTML shows before any script runs: the featured product and its buy
button, drawn on the server so a phone on a weak network sees them at once.

static/buy.js takes the page over as soon as it loads (from the snapshot embedded in the page)
and draws the same markup; the words here are a copy of the few static/i18n.js strings the first
paint needs (tests/e2e/test_buy_page.py checks they agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from live.config import LANGS
from live.domain import ShowState

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "connecting": "连接中…",
        "featured": "正在讲解",
        "producer": "生产者",
        "left": "剩 {n} 件",
        "only_left": "仅剩 {n} 件！",
        "sold_out": "已售罄",
        "per_buyer": "每人限购 {n}",
        "qty": "数量",
        "less": "减少数量",
        "more": "增加数量",
        "buy": "立即购买",
        "not_on_sale": "暂未开售",
        "show_ended": "本场直播已结束",
        "ended_thanks": "感谢观看！你的订单在下方。",
        "ordering_paused": "暂停下单",
        "paused_notice": "主播暂停了下单，恢复后这里会自动开放。",
        "deal_ends": "限时价 剩 {t}",
        "was": "原价",
        "my_orders": "我的订单",
        "language": "English",
        "lang_label": "切换语言",
    },
    "en": {
        "connecting": "Connecting…",
        "featured": "Now showing",
        "producer": "From",
        "left": "{n} left",
        "only_left": "Only {n} left!",
        "sold_out": "Sold out",
        "per_buyer": "Max {n} per buyer",
        "qty": "Quantity",
        "less": "Fewer",
        "more": "More",
        "buy": "Buy now",
        "not_on_sale": "Not on sale yet",
        "show_ended": "This show has ended",
        "ended_thanks": "Thank you for watching! Your orders are below.",
        "ordering_paused": "Paused",
        "paused_notice": "Ordering is paused for now; it reopens here by itself.",
        "deal_ends": "Deal ends in {t}",
        "was": "Was",
        "my_orders": "My orders",
        "language": "中文",
        "lang_label": "Switch language",
    },
}

# Intl.NumberFormat's narrow symbols, as the page's script shows prices.
SYMBOLS = {"CNY": "¥", "JPY": "¥", "USD": "$", "HKD": "$", "TWD": "$", "EUR": "€", "GBP": "£"}
LANG_COOKIE = "sunlit-live-lang"


def pick_language(request: Request, default: str) -> str:
    """?lang=, then the choice the page saved (a cookie), then the phone's language."""
    for wanted in (
        request.query_params.get("lang", ""),
        request.cookies.get(LANG_COOKIE, ""),
        request.headers.get("accept-language", "").split(",")[0].strip(),
    ):
        if wanted:
            return "zh-CN" if wanted.lower().startswith("zh") else "en"
    return default if default in LANGS else "en"


def translator(lang: str) -> Callable[..., str]:
    table = STRINGS.get(lang, STRINGS["en"])

    def t(key: str, **values: object) -> str:
        text = table.get(key, key)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    return t


def money(minor: int, currency: str) -> str:
    major = f"{minor / 100:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{major}" if symbol else f"{major} {currency}"


def countdown(ends_at: float, now: float) -> str:
    left = max(0, int(ends_at - now))
    h, m, s = left // 3600, left % 3600 // 60, left % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass(frozen=True)
class Featured:
    """The featured product as the first paint draws it (one dict from messages.product_json)."""

    product: dict[str, Any]
    price: str
    was: str | None  # the normal price, struck, while a deal runs
    deal_left: str | None
    stock_text: str
    stock_class: str
    reason: str  # why it can't be bought now ("" when it can)
    paused: bool


def featured_view(snapshot: dict[str, Any], t: Callable[..., str], now: float) -> Featured | None:
    """The product the page leads with: the featured one, else the first on sale (as buy.js)."""
    show = snapshot["show"]
    if show["ended"]:
        return None
    products = snapshot["products"]
    chosen = next((p for p in products if p["id"] == show["featured_product_id"]), None)
    chosen = chosen or next((p for p in products if p["on_sale"]), None)
    if chosen is None:
        return None
    deal = "deal_price" in chosen and chosen["deal_ends_at"] > now
    stock = chosen["stock"]
    paused = not show["ordering_open"]
    if paused:
        reason = t("ordering_paused")
    elif not chosen["on_sale"]:
        reason = t("not_on_sale")
    elif stock <= 0:
        reason = t("sold_out")
    else:
        reason = ""
    return Featured(
        product=chosen,
        price=money(chosen["deal_price"] if deal else chosen["price"], chosen["currency"]),
        was=money(chosen["price"], chosen["currency"]) if deal else None,
        deal_left=countdown(chosen["deal_ends_at"], now) if deal else None,
        stock_text=(
            t("sold_out") if stock <= 0 else t("only_left" if stock <= 5 else "left", n=stock)
        ),
        stock_class="stock out" if stock <= 0 else "stock low" if stock <= 5 else "stock",
        reason=reason,
        paused=paused,
    )


def buy_context(
    request: Request, state: ShowState, snapshot: dict[str, Any], default_lang: str, now: float
) -> dict[str, Any]:
    lang = pick_language(request, default_lang)
    t = translator(lang)
    return {
        "state": state,
        "snapshot": snapshot,
        "lang": lang,
        "t": t,
        "featured": featured_view(snapshot, t, now),
    }
