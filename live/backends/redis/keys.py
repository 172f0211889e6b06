"""Every Redis key name, built in one place.

All keys start with the configured prefix. Scripts receive every key they touch in KEYS (never
building one inside Lua), so the data can be spread over a Redis Cluster: a prefix holding a
hash tag, such as `live:{coop1}`, keeps one co-op's keys in one slot (on a `redis+cluster://`
URL a prefix without one is tagged whole: `coop1` -> `{coop1}`; see connect.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "live"

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def products(self) -> str:
        return self._k("products")  # list of product ids, oldest first

    def product(self, product_id: str) -> str:
        # hash of the product's fields, and "shows_v": grows whenever its set of shows changes
        return self._k("product", product_id)

    def product_shows(self, product_id: str) -> str:
        return self._k("product", product_id, "shows")  # set of show ids holding it

    def shows(self) -> str:
        return self._k("shows")  # list of show ids, oldest first

    def show(self, show_id: str) -> str:
        # hash: title, ordering_open, featured, seq, eseq, ended, toasts, order_n (last order
        # number given), …
        return self._k("show", show_id)

    def lineup(self, show_id: str) -> str:
        return self._k("show", show_id, "lineup")  # list of product ids

    def on_sale(self, show_id: str) -> str:
        return self._k("show", show_id, "on_sale")  # set of product ids

    def deals(self, show_id: str) -> str:
        return self._k("show", show_id, "deals")  # hash product id -> "price ends_at"

    def show_orders(self, show_id: str) -> str:
        return self._k("show", show_id, "orders")  # list of order ids, oldest first

    def order(self, order_id: str) -> str:
        return self._k("order", order_id)  # hash of the order's fields

    def bought(self, buyer: str) -> str:
        return self._k("buyer", buyer, "bought")  # hash product id -> units not cancelled

    def buyer_orders(self, buyer: str) -> str:
        return self._k("buyer", buyer, "orders")  # list of the buyer's order ids, oldest first

    def profile(self, buyer: str) -> str:
        # hash: Profile.fields and "pkey", the phone key the token is tied to; a TTL until the
        # token has an order
        return self._k("buyer", buyer, "profile")

    def phone_bought(self, phone_key: str) -> str:
        # hash product id -> units not cancelled of every token tied to the phone (digits)
        return self._k("phone", phone_key, "bought")

    def session_epochs(self) -> str:
        return self._k("session_epochs")  # hash: host account name -> session generation

    def coop(self) -> str:
        return self._k("coop")  # hash: the co-op's console settings

    def users(self) -> str:
        return self._k("users")  # hash: host account name -> password hash

    def short(self, code: str) -> str:
        return self._k("short", code)  # the show id behind a short link code

    def idem(self, buyer: str, key: str) -> str:
        return self._k("idem", buyer, key)  # "order_id show_id product_id qty", 24 h TTL

    # --- holds (issue 14) ------------------------------------------------------------------

    def deadlines(self) -> str:
        return self._k("deadlines")  # zset: order id of a claim that may expire, by expires_at

    def notices(self, show_id: str) -> str:
        return self._k("show", show_id, "notices")  # hash buyer -> payment notice (JSON)

    # --- Authenticity (issue 15) -----------------------------------------------------------

    def lot(self, lot_id: str) -> str:
        return self._k("lot", lot_id)  # hash of the lot's fields

    def lots(self) -> str:
        return self._k("lots")  # list of lot ids, oldest first

    def show_lots(self, show_id: str) -> str:
        return self._k("show", show_id, "lots")  # hash product id -> default lot id

    def order_lots(self, show_id: str) -> str:
        return self._k("show", show_id, "order_lots")  # hash order id -> lot id

    def label_units(self, show_id: str) -> str:
        return self._k("show", show_id, "label_units")  # hash "order:unit" -> serial

    def show_labels(self, show_id: str) -> str:
        return self._k("show", show_id, "labels")  # list of serials, in issue order

    def label(self, serial: str) -> str:
        # hash: the label's fields, scans, first_scan, verified_at, fb_* (its feedback)
        return self._k("label", serial)

    def label_devices(self, serial: str) -> str:
        return self._k("label", serial, "devices")  # HyperLogLog of device tags

    def label_wrong(self, serial: str) -> str:
        return self._k("label", serial, "wrong")  # wrong PINs, a TTL of the window

    def feedback(self) -> str:
        return self._k("feedback")  # list of serials with feedback, oldest first

    # --- bundles (issue 13) ----------------------------------------------------------------

    def product_boxes(self, product_id: str) -> str:
        return self._k("product", product_id, "boxes")  # set of gift box ids holding it

    # Pub/sub channels are not keys (they belong to no slot), but are named here all the same.
    def channel(self, show_id: str) -> str:
        return self._k("ev", show_id)  # the show's events, published by the scripts

    def probe(self, name: str) -> str:
        return self._k("probe", name)  # a process's liveness probe of its own subscription
