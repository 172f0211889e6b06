"""The words of the console's payment pages (holds, issue 14), in the console's languages.

Kept apart from live/console_i18n.py; `t` falls back to the console's words for the keys
these pages share with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from live.console_i18n import translate

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "payments": "Payments",
        "payments_title": "Payments — {title}",
        "pay_settings": "How buyers pay",
        "unpaid": "unpaid",
        "paid": "paid",
        "expired_claims": "expired claims",
        "takings": "takings",
        "to_collect": "to collect",
        "search": "Reference or amount (¥)",
        "queue": "Said paid — check the account",
        "queue_empty": "Nobody is waiting.",
        "closing": "Closing soon (30 min)",
        "closing_empty": "No parcel is about to expire.",
        "all_parcels": "Every parcel",
        "reference": "Reference",
        "buyer": "Buyer",
        "amount": "Amount",
        "total": "Total",
        "shipping": "Shipping",
        "time_left": "Time left",
        "state": "State",
        "screenshot": "screenshot",
        "mark_paid": "Mark paid",
        "reject": "Reject",
        "reject_reason": "Why? The buyer reads this.",
        "state_unpaid": "unpaid",
        "state_paid": "paid",
        "notice_pending": "says paid",
        "notice_rejected": "rejected",
        "notice_accepted": "accepted",
        "methods": "Payment methods",
        "methods_hint": (
            "Receive codes (WeChat Pay, Alipay), bank details, and what buyers should do, "
            "per language."
        ),
        "kind": "Kind",
        "kind_wechat": "WeChat Pay",
        "kind_alipay": "Alipay",
        "kind_bank": "Bank transfer",
        "kind_other": "Other",
        "name": "Name",
        "image": "Receive code (image)",
        "details": "Account details",
        "instruction_zh": "Instruction (中文)",
        "instruction_en": "Instruction (English)",
        "add_method": "Add a method",
        "remove": "Remove",
        "save": "Save",
        "saved": "Saved.",
        "shipping_rules": "Shipping fees",
        "shipping_hint": (
            "First kg and each extra kg begun, in yuan; an extra-kg price of 0 is a flat fee "
            "per parcel."
        ),
        "elsewhere": "Everywhere else at home",
        "abroad": "Abroad (empty: as everywhere else)",
        "region": "Province",
        "first_kg": "First kg (¥)",
        "extra_kg": "Each extra kg (¥)",
        "free_above": "Free from an items total of (¥, empty: never)",
        "add_region": "Add a province",
    },
    "zh-CN": {
        "payments": "收款",
        "payments_title": "收款 — {title}",
        "pay_settings": "付款方式设置",
        "unpaid": "未付款",
        "paid": "已付款",
        "expired_claims": "已过期订单",
        "takings": "已收款",
        "to_collect": "待收款",
        "search": "付款备注码或金额（元）",
        "queue": "买家称已付款 — 请核对账户",
        "queue_empty": "暂无待核对的付款。",
        "closing": "即将过期（30 分钟内）",
        "closing_empty": "没有即将过期的包裹。",
        "all_parcels": "全部包裹",
        "reference": "备注码",
        "buyer": "买家",
        "amount": "金额",
        "total": "合计",
        "shipping": "运费",
        "time_left": "剩余时间",
        "state": "状态",
        "screenshot": "截图",
        "mark_paid": "确认已付款",
        "reject": "未收到",
        "reject_reason": "原因（买家可见）",
        "state_unpaid": "未付款",
        "state_paid": "已付款",
        "notice_pending": "称已付款",
        "notice_rejected": "已驳回",
        "notice_accepted": "已确认",
        "methods": "付款方式",
        "methods_hint": "收款码（微信支付、支付宝）、银行账户，以及给买家的说明（分语言）。",
        "kind": "类型",
        "kind_wechat": "微信支付",
        "kind_alipay": "支付宝",
        "kind_bank": "银行转账",
        "kind_other": "其他",
        "name": "名称",
        "image": "收款码图片",
        "details": "账户信息",
        "instruction_zh": "说明（中文）",
        "instruction_en": "说明（English）",
        "add_method": "添加付款方式",
        "remove": "删除",
        "save": "保存",
        "saved": "已保存。",
        "shipping_rules": "运费规则",
        "shipping_hint": (
            "首重（1 公斤）与续重（每增加 1 公斤），单位元；续重为 0 即每个包裹固定运费。"
        ),
        "elsewhere": "国内其他地区",
        "abroad": "境外（留空：同国内其他地区）",
        "region": "省份",
        "first_kg": "首重（元）",
        "extra_kg": "续重（元/公斤）",
        "free_above": "商品满（元）免运费（留空：不免）",
        "add_region": "添加省份",
    },
}


def pay_translator(lang: str) -> Callable[..., str]:
    table = WORDS.get(lang, WORDS["en"])

    def t(key: str, **values: Any) -> str:
        text = table.get(key) or WORDS["en"].get(key)
        if text is None:
            return translate(lang, key, **values)
        return text.format(**values) if values else text

    return t


def pay_script_text(lang: str) -> Mapping[str, str]:
    """The payment pages' script words: English under the language's own."""
    return {**WORDS["en"], **WORDS.get(lang, {})}
