"""The demo co-op: a few neighbours' products and one open show with a featured product."""

from __future__ import annotations

from dataclasses import dataclass

from live.domain import Show
from live.messages import OptionBody, ProductCreate, ShowCreate
from live.service import Service

DEMO_PRODUCTS = [
    ProductCreate(
        name="Grandma Li's chili sauce 李奶奶辣椒酱",
        producer="Li family kitchen",
        unit="jar",
        price=2800,
        stock=120,
        limit_per_buyer=5,
        description="Sun-dried chilies, rapeseed oil and fermented beans, stirred by hand.",
    ),
    ProductCreate(
        name="Smoked chili crisp 烟熏辣椒脆",
        producer="Li family kitchen",
        unit="jar",
        price=3200,
        stock=80,
        limit_per_buyer=5,
        description="Chilies smoked over apple wood, fried crisp with garlic and peanuts.",
    ),
    ProductCreate(
        name="Dried bamboo shoots 笋干",
        producer="Wang brothers' farm",
        unit="bag (250 g)",
        price=3900,
        stock=60,
        description="Spring shoots from the hillside grove, sliced and dried in the sun.",
    ),
    ProductCreate(
        name="Dried shiitake 香菇干",
        producer="Wang brothers' farm",
        unit="bag (200 g)",
        price=4500,
        stock=50,
        description="Grown on oak logs under the pines; thick caps, deep flavour.",
    ),
    ProductCreate(
        name="Embroidered cloth shoes 手工绣花鞋",
        producer="Auntie Zhao's workshop",
        unit="pair",
        price=16800,
        stock=0,  # the sum of its sizes
        limit_per_buyer=2,
        # Sizes (options): a few of each; size 41 is already gone, so the page shows it struck.
        options=[
            OptionBody(name=str(size), stock=n)
            for size, n in zip(range(35, 42), (2, 4, 5, 4, 3, 2, 0), strict=True)
        ],
        description="Layered cotton soles stitched by hand; peony embroidery on the toe.",
    ),
    ProductCreate(
        name="Wild mountain honey 野生土蜂蜜",
        producer="Auntie Zhao's workshop",
        unit="jar",
        price=8800,
        stock=0,  # the sum of its weights
        limit_per_buyer=3,
        # Weights with their own prices, and the big jar taking pre-orders of the next harvest.
        options=[
            OptionBody(name="250 g", stock=20, price=4800, unit="250 g", weight_g=250),
            OptionBody(name="500 g", stock=15, price=8800, unit="500 g", weight_g=500),
            OptionBody(
                name="1 kg",
                stock=5,
                price=16800,
                unit="1 kg",
                weight_g=1000,
                preorder_cap=30,
                ships_from="2027-05-10",
            ),
        ],
        description="From hives on the mountain edge; raw, unfiltered, sets in winter.",
    ),
]


@dataclass(frozen=True)
class DemoShow:
    show: Show
    featured_id: str


async def seed_demo(service: Service) -> DemoShow:
    """Create the demo catalog and an open show featuring the first product."""
    products = [await service.create_product(p) for p in DEMO_PRODUCTS]
    show = await service.create_show(
        ShowCreate(
            title="Harvest night at the co-op 丰收夜直播", product_ids=[p.id for p in products]
        )
    )
    await service.set_ordering(show.id, True)
    show = await service.set_featured(show.id, products[0].id)
    return DemoShow(show=show, featured_id=products[0].id)
