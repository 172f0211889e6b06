"""Every word of the authenticity pages (issue 15) in zh-CN and English: the public verify page
and the console's lots, labels and quality pages. A console key not here falls back to the
console's own table (live/console_i18n.py). `{name}` placeholders are filled in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from live.console_i18n import translate as console_translate

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # the public page of a serial
        "verify_title": "Authenticity check",
        "coop_default": "the co-op",
        "serial": "Serial",
        "option": "Option",
        "producer": "Producer",
        "lot": "Lot",
        "harvested": "Harvested",
        "place": "Place",
        "pin_label": "PIN (under the scratch panel or the fold)",
        "verify": "Verify",
        "first_ok": "Genuine. This is the first time this label's PIN was entered: your unit is "
        "from {coop}.",
        "again": "This label was first verified on {when}.",
        "again_warn": "If you just bought this and have not entered the PIN before, the label "
        "was probably copied: please report it to {coop}, with a photo of the label and where "
        "you bought it.",
        "wrong_pin": "That PIN does not match this label. Check the digits and try again.",
        "bad_pin": "The PIN is 8 digits.",
        "locked": "Too many wrong PINs for this label or from your network. Try again later "
        "(tomorrow at the latest).",
        "bad_rating": "Choose a rating from 1 to 5.",
        "unknown_title": "This code is not {coop}'s",
        "unknown_body": "No label of {coop} has this serial. If it is printed on a product sold "
        "under our name, the product is probably not ours.",
        "unknown_report": "Please report it: send a photo of the label and the product, and "
        "where you bought it, to the co-op through the channel you follow us on.",
        "feedback_title": "How was it?",
        "rating": "Rating",
        "stars": "{n} of 5",
        "note": "A short note (optional)",
        "send": "Send",
        "feedback_thanks": "Thank you: your rating goes to the producer.",
        "feedback_done": "This unit has been rated already.",
        # console
        "lots": "Lots",
        "lots_of": "Lots of {name}",
        "lot_name": "Lot name",
        "lot_date": "Harvest / production date",
        "lot_place": "Place",
        "lot_notes": "Notes",
        "lot_photo": "Photo",
        "new_lot": "New lot",
        "save": "Save",
        "no_lots": "No lots yet.",
        "labels": "Labels",
        "labels_title": "Labels: {title}",
        "issue_labels": "Make labels for every unit sold",
        "labels_count": "{n} labels",
        "print_a4": "Print: A4 label sheet",
        "print_thermal": "Print: 100×150 mm thermal labels",
        "default_lots": "Lot per product (default for this show)",
        "order_lots": "Lot per order (at packing)",
        "no_lot": "— none —",
        "default_lot": "— the show's default —",
        "order": "Order",
        "qty": "Qty",
        "scans": "Scans",
        "devices": "Devices",
        "first_scan": "First scan",
        "verified": "Verified",
        "flags": "Scan flags",
        "flags_hint": "Serials opened from {n} or more devices: a copied label is likely.",
        "no_flags": "No serial is flagged.",
        "pin": "PIN",
        "scratch": "Scratch or fold here",
        "scan_to_verify": "Scan to check it is genuine",
        "quality": "Quality",
        "quality_title": "Quality from buyers' ratings",
        "by_lot": "By lot",
        "by_producer": "By producer",
        "count": "Ratings",
        "average": "Average",
        "low_ratings": "Recent low ratings",
        "no_feedback": "No ratings yet.",
        "trace_csv": "Recall list (CSV)",
        "no_lot_row": "(no lot chosen)",
        "coop_card": "The co-op on labels and the check page",
        "coop_name": "Co-op name",
        "coop_story": "Our story (on the check page)",
    },
    "zh-CN": {
        "verify_title": "防伪查询",
        "coop_default": "本合作社",
        "serial": "编号",
        "option": "规格",
        "producer": "生产者",
        "lot": "批次",
        "harvested": "采收日期",
        "place": "产地",
        "pin_label": "验证码（刮开涂层或沿折线撕开）",
        "verify": "验证",
        "first_ok": "正品。这是此标签的验证码第一次被输入：您的商品来自{coop}。",
        "again": "此标签已于 {when} 首次验证。",
        "again_warn": "如果您刚买到这件商品，且之前没有输入过验证码，此标签很可能被复制了："
        "请拍下标签并说明购买渠道，告知{coop}。",
        "wrong_pin": "验证码与此标签不符，请核对数字后重试。",
        "bad_pin": "验证码为 8 位数字。",
        "locked": "此标签或您的网络输错验证码次数过多，请稍后再试（最迟明天）。",
        "bad_rating": "请选择 1 到 5 分。",
        "unknown_title": "此编码不属于{coop}",
        "unknown_body": "{coop}没有这个编号的标签。如果它印在以我们名义销售的商品上，"
        "这件商品很可能不是我们的。",
        "unknown_report": "请举报：把标签和商品的照片以及购买渠道，"
        "通过您关注我们的平台发给合作社。",
        "feedback_title": "商品怎么样？",
        "rating": "评分",
        "stars": "{n} 分（满分 5）",
        "note": "简短留言（可不填）",
        "send": "提交",
        "feedback_thanks": "谢谢！您的评分会转达给生产者。",
        "feedback_done": "这件商品已经评过分了。",
        "lots": "批次",
        "lots_of": "{name} 的批次",
        "lot_name": "批次名称",
        "lot_date": "采收/生产日期",
        "lot_place": "产地",
        "lot_notes": "备注",
        "lot_photo": "照片",
        "new_lot": "新批次",
        "save": "保存",
        "no_lots": "还没有批次。",
        "labels": "防伪标签",
        "labels_title": "防伪标签：{title}",
        "issue_labels": "为每件已售商品生成标签",
        "labels_count": "{n} 张标签",
        "print_a4": "打印：A4 标签纸",
        "print_thermal": "打印：100×150 毫米热敏标签",
        "default_lots": "各商品的批次（本场默认）",
        "order_lots": "各订单的批次（打包时）",
        "no_lot": "— 无 —",
        "default_lot": "— 本场默认 —",
        "order": "订单",
        "qty": "数量",
        "scans": "扫码次数",
        "devices": "设备数",
        "first_scan": "首次扫码",
        "verified": "已验证",
        "flags": "扫码异常",
        "flags_hint": "被 {n} 台或更多设备打开的编号：标签很可能被复制。",
        "no_flags": "没有异常编号。",
        "pin": "验证码",
        "scratch": "刮开或沿此折线撕开",
        "scan_to_verify": "扫码验证真伪",
        "quality": "品质",
        "quality_title": "买家评分中的品质",
        "by_lot": "按批次",
        "by_producer": "按生产者",
        "count": "评分数",
        "average": "平均分",
        "low_ratings": "最近的低分",
        "no_feedback": "还没有评分。",
        "trace_csv": "召回清单（CSV）",
        "no_lot_row": "（未选批次）",
        "coop_card": "标签和查询页上的合作社",
        "coop_name": "合作社名称",
        "coop_story": "我们的故事（显示在查询页）",
    },
}


def translator(lang: str) -> Callable[..., str]:
    table = STRINGS.get(lang, STRINGS["en"])

    def t(key: str, **values: Any) -> str:
        text = table.get(key)
        if text is None:
            return console_translate(lang, key, **values)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    return t
