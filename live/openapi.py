"""The OpenAPI document of the HTTP API, served at /openapi.json.

Request bodies come from the same msgspec Structs that decode them (so the document cannot
drift from what is enforced); answers are described loosely, errors exactly.
"""

from __future__ import annotations

from typing import Any

import msgspec

from live import __version__, domain
from live.messages import (
    DealBody,
    FeaturedBody,
    HarvestBody,
    LineupBody,
    OnSaleBody,
    OptionsBody,
    OptionStockPatch,
    OrderBody,
    OrderingBody,
    PartsBody,
    PaymentMethodsBody,
    ProductCreate,
    ProductPatch,
    ProfileBody,
    RejectBody,
    ShippingBody,
    ShowCreate,
    StatusBody,
    ToastsBody,
)
from live.trust import FeedbackBody, LotBody, LotPatch, OrderLotBody, ShowLotBody, VerifyBody

BODIES: list[type[msgspec.Struct]] = [
    ProductCreate,
    ProductPatch,
    ShowCreate,
    FeaturedBody,
    OrderingBody,
    OnSaleBody,
    DealBody,
    LineupBody,
    ToastsBody,
    OrderBody,
    StatusBody,
    ProfileBody,
    # authenticity (issue 15)
    VerifyBody,
    FeedbackBody,
    LotBody,
    LotPatch,
    ShowLotBody,
    OrderLotBody,
    # options and pre-orders (issue 13)
    OptionsBody,
    OptionStockPatch,
    HarvestBody,
    PartsBody,  # bundles (issue 13)
    ShippingBody,  # holds (issue 14)
    PaymentMethodsBody,
    RejectBody,
]

ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the body field at fault (invalid)"},
        "retry_after_ms": {
            "type": "integer",
            "description": "busy (503, with Retry-After): when to send the same key again",
        },
    },
}

# (method, path, summary, body, host-only, buyer header)
OPERATIONS: list[tuple[str, str, str, type[msgspec.Struct] | None, bool, bool]] = [
    ("get", "/healthz", "The process runs", None, False, False),
    ("get", "/readyz", "The store answers", None, False, False),
    ("post", "/api/products", "Create a product", ProductCreate, True, False),
    ("get", "/api/products", "List products (archived ones with ?archived=1)", None, True, False),
    ("get", "/api/products/{id}", "A product", None, True, False),
    (
        "patch",
        "/api/products/{id}",
        "Edit a product, set or adjust its stock",
        ProductPatch,
        True,
        False,
    ),
    # options and pre-orders (issue 13)
    ("put", "/api/products/{id}/options", "Replace a product's options", OptionsBody, True, False),
    (
        "patch",
        "/api/products/{id}/options/{option_id}",
        "Set or adjust one option's stock",
        OptionStockPatch,
        True,
        False,
    ),
    (
        "post",
        "/api/products/{id}/harvest",
        "The harvest arrived: pre-orders can ship, the rest goes to stock",
        HarvestBody,
        True,
        False,
    ),
    # bundles (issue 13)
    ("put", "/api/products/{id}/parts", "Replace a gift box's parts", PartsBody, True, False),
    ("post", "/api/shows", "Create a show", ShowCreate, True, False),
    ("get", "/api/shows", "List shows", None, True, False),
    ("get", "/api/shows/{id}", "A show, as the host sees it", None, True, False),
    ("post", "/api/shows/{id}/featured", "Feature a product (or none)", FeaturedBody, True, False),
    ("post", "/api/shows/{id}/ordering", "Open or close ordering", OrderingBody, True, False),
    ("post", "/api/shows/{id}/on_sale", "Put a product on or off sale", OnSaleBody, True, False),
    ("post", "/api/shows/{id}/deal", "Start or end a flash deal", DealBody, True, False),
    (
        "put",
        "/api/shows/{id}/lineup",
        "Replace the lineup (add, remove, reorder)",
        LineupBody,
        True,
        False,
    ),
    ("post", "/api/shows/{id}/toasts", "Turn sale toasts on or off", ToastsBody, True, False),
    ("post", "/api/shows/{id}/overlay_key", "Rotate the overlay key", None, True, False),
    ("post", "/api/shows/{id}/end", "End the show", None, True, False),
    ("get", "/api/shows/{id}/orders", "The show's orders", None, True, False),
    ("get", "/api/shows/{id}/clusters", "Addresses, phones behind many orders", None, True, False),
    (
        "post",
        "/api/shows/{id}/orders",
        "Order (HTTP form of the socket's order)",
        OrderBody,
        False,
        True,
    ),
    ("get", "/api/shows/{id}/state", "The public snapshot", None, False, False),
    ("get", "/api/shows/{id}/my-orders", "The buyer's own orders", None, False, True),
    ("get", "/api/shows/{id}/live", "Viewers connected to this process", None, True, False),
    ("put", "/api/buyer/profile", "The buyer's delivery details", ProfileBody, False, True),
    ("get", "/api/orders/{id}", "An order", None, True, False),
    ("post", "/api/orders/{id}/cancel", "Cancel an order and restock", None, True, False),
    (
        "post",
        "/api/orders/{id}/status",
        "Mark an order paid or shipped (unpaid: cash on delivery)",
        StatusBody,
        True,
        False,
    ),
    ("get", "/api/stats", "This process's realtime figures", None, True, False),
    # --- authenticity (issue 15) -----------------------------------------------------------
    ("post", "/api/shows/{id}/labels", "Labels for every unit sold (once)", None, True, False),
    ("get", "/api/shows/{id}/labels", "The show's labels, scans, flags", None, True, False),
    ("post", "/api/verify/{serial}", "Check a label's PIN", VerifyBody, False, False),
    ("post", "/api/verify/{serial}/feedback", "Rate a verified unit", FeedbackBody, False, False),
    ("post", "/api/products/{id}/lots", "Create a lot of a product", LotBody, True, False),
    ("get", "/api/products/{id}/lots", "A product's lots", None, True, False),
    ("get", "/api/lots/{id}", "A lot", None, True, False),
    ("patch", "/api/lots/{id}", "Edit a lot", LotPatch, True, False),
    ("get", "/api/lots/{id}/trace", "A lot's recall list (?format=csv)", None, True, False),
    ("post", "/api/shows/{id}/lots", "A product's default lot in a show", ShowLotBody, True, False),
    ("post", "/api/orders/{id}/lot", "An order's lot", OrderLotBody, True, False),
    ("get", "/api/quality", "Ratings by lot and producer", None, True, False),
    # --- holds (issue 14): parcels, shipping ------------------------------------------------
    ("get", "/api/shows/{id}/my-parcel", "The buyer's parcel", None, False, True),
    ("get", "/api/shipping", "The co-op's shipping rules", None, True, False),
    ("put", "/api/shipping", "Replace the shipping rules", ShippingBody, True, False),
    ("get", "/api/shows/{id}/parcels", "Every buyer's parcel (?q=, ?status=)", None, True, False),
    ("get", "/api/payment-methods", "How buyers pay", None, True, False),
    ("put", "/api/payment-methods", "Replace the payment methods", PaymentMethodsBody, True, False),
    ("post", "/api/shows/{id}/parcels/{ref}/paid", "Mark a parcel paid", None, True, False),
    ("post", "/api/shows/{id}/parcels/{ref}/reject", "Reject a payment", RejectBody, True, False),
]


# Query parameters an operation reads, by (method, path).
QUERY: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", "/api/products"): [
        {
            "name": "archived",
            "in": "query",
            "required": False,
            "description": "1: list archived products too",
            "schema": {"type": "string", "enum": ["0", "1"]},
        }
    ],
    # the option's id in the path (issue 13)
    ("patch", "/api/products/{id}/options/{option_id}"): [
        {
            "name": "option_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": domain.ID_RE.pattern},
        }
    ],
}


def document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        BODIES, ref_template="#/components/schemas/{name}"
    )
    components["Error"] = ERROR
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, host, buyer in OPERATIONS:
        parameters: list[dict[str, Any]] = []
        if "{id}" in path:
            parameters.append(
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": domain.ID_RE.pattern},
                }
            )
        if "{serial}" in path:  # a label's serial (authenticity, issue 15)
            parameters.append(
                {"name": "serial", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if "{ref}" in path:  # a parcel's payment reference (holds, issue 14)
            parameters.append(
                {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        parameters += QUERY.get((method, path), [])
        if buyer:
            parameters.append(
                {
                    "name": "X-Buyer",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "pattern": domain.BUYER_TOKEN_RE.pattern},
                }
            )
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "201": {
                    "description": "Created",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "default": {
                    "description": "An error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{body.__name__}"}
                    }
                },
            }
        if host:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Sunlit Live",
            "version": __version__,
            "description": "Host API, buyer endpoints and health. See docs/api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
