-- The whole order step, atomically (see live/backends/base.py: Store.place_order).
--
-- KEYS
--   show_key          the show's hash
--   on_sale_key       the show's on-sale set
--   deals_key         the show's deals (product id -> "price ends_at")
--   product_key       the product's hash
--   bought_key        the buyer's units per product (not cancelled)
--   idem_key          the buyer's idempotency record for this key
--   order_key         the new order's hash
--   show_orders_key   the show's list of order ids
--   holders_key       the product's set of shows (not read: its version "shows_v" on the
--                     product stands for it; named so every key the step depends on is here)
--   buyer_orders_key  the buyer's list of order ids
--   profile_key       the buyer's profile (for the toast: first character of the name, and
--                     the city; its "pkey": the phone the token is tied to)
--   phone_bought_key  the units per product of the phone `phone` (below)
--   deadlines_key     holds (issue 14): claims that may expire (zset: order id by expires_at)
--   14..              every other show holding the product (their seq grows: they show this
--                     stock too)
-- ARGV
--   show_id, product_id, buyer, qty, key (the buyer's idempotency key), order_id,
--   now, idem_ttl (seconds),
--   shows_v           the version of the product's "shows" set the caller read KEYS 14.. from
--                     (the product's "shows_v" field, which grows whenever the set changes)
--   channel           this show's event channel
--   phone             the phone key the caller believes the token is tied to ("" none)
--   ip                the client address (kept on the order as "ip")
--   option_id         the option ordered ("" none); a product with options keeps them as JSON
--                     in its "options" field ([{id, name, stock, sold, price, unit, weight_g}]),
--                     its "stock" and "sold" being their sums
--   14..              the channels of KEYS 14.. in the same order
--
-- Publishes {"type": "order", ...} on this show's channel and {"type": "stock", ...} on the
-- others', each with that show's new seq (live.events.OrderPlaced and Stock). The order event
-- carries toast = false, and no buyer name or city, when the show's sale toasts are off.
-- An accepted order gets the show's next order number (the show's "order_n" counter).
-- The order event names the option and carries every option's stock (live.events.Stock).
-- Once the stock (the option's) is gone, an order is a pre-order while the pre-order cap has
-- room (live.domain.preorder_room): it takes no stock, adds to "preordered" and records the
-- harvest it waits for ("harvests" + 1).
-- holds (issue 14): in a show with "hold" seconds, the claim gets "expires_at" (now + hold)
-- and joins the deadline index, in the same step.
-- Returns one of (stock: the option's, for an option's order):
--   {"ok", order_id, stock_after, seq, unit_price, currency, number, option_name,
--    preorder ("1" or ""), ships_from, harvest, expires_at ("" none)}
--   {"dup", order_id, seq}               the key answered an earlier, identical order
--   {"refused", reason, stock or -1}     ("invalid" adds "option" when the option is at fault)
--   {"missing"}                          no such show
--   {"stale"}                            KEYS 14.. is out of date: nothing written, re-read, retry
--   {"rephone", phone key}               the token is tied to another phone: nothing written
local show_key, on_sale_key, deals_key, product_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local bought_key, idem_key, order_key, show_orders_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local holders_key, buyer_orders_key, profile_key = KEYS[9], KEYS[10], KEYS[11]
local phone_bought_key = KEYS[12]
-- holds (issue 14)
local deadlines_key = KEYS[13]
local first_other = 14

local show_id, product_id, buyer = ARGV[1], ARGV[2], ARGV[3]
local qty, key, order_id = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local now_text, idem_ttl, shows_v = ARGV[7], ARGV[8], ARGV[9]
local now = tonumber(now_text)
local channel, phone, ip, option_id = ARGV[10], ARGV[11], ARGV[12], ARGV[13]

local show = redis.call("HMGET", show_key, "ordering_open", "seq", "ended", "toasts", "hold")
if not show[2] then
  return {"missing"}
end

local earlier = redis.call("GET", idem_key)
if earlier then
  -- "order show product qty", then " option" for an option's order
  local oid, eshow, eproduct, eqty, eoption = string.match(earlier,
    "^(%S+) (%S+) (%S+) (%S+) ?(%S*)$")
  if eshow == show_id and eproduct == product_id and tonumber(eqty) == qty
    and eoption == option_id then
    return {"dup", oid, show[2]}
  end
  return {"refused", "invalid", -1}
end

if show[1] ~= "1" or show[3] == "1" then
  return {"refused", "ordering_closed", -1}
end

local product = redis.call("HMGET", product_key, "stock", "limit_per_buyer", "price", "currency",
  "shows_v", "options", "preorder_cap", "preordered", "harvests", "ships_from")
if redis.call("SISMEMBER", on_sale_key, product_id) == 0 or not product[1] then
  return {"refused", "not_on_sale", -1}
end

-- live.domain.option_choice_refusal: a product with options sells only through one of them.
local options, option = nil, nil
if product[6] and product[6] ~= "" then
  options = cjson.decode(product[6])
  for _, o in ipairs(options) do
    if o.id == option_id then option = o end
  end
  if not option then
    return {"refused", "invalid", -1, "option"}
  end
elseif option_id ~= "" then
  return {"refused", "invalid", -1, "option"}
end

local function num(v)  -- a field stored before it existed, or cjson's null
  if v == nil or v == cjson.null or v == false then return 0 end
  return tonumber(v) or 0
end
local stock = tonumber(product[1])
local cap, preordered, harvests = num(product[7]), num(product[8]), num(product[9])
local ships_from = product[10] or ""
if option then
  stock = option.stock
  cap, preordered, harvests = num(option.preorder_cap), num(option.preordered),
    num(option.harvests)
  ships_from = option.ships_from ~= cjson.null and option.ships_from or ""
end
local preorder = stock <= 0
local available = stock
if preorder then
  available = math.max(0, cap - preordered)
end
if available <= 0 then
  return {"refused", "sold_out", stock}
end
local pkey = redis.call("HGET", profile_key, "pkey") or ""
if pkey ~= phone then
  return {"rephone", pkey}
end
local bought = tonumber(redis.call("HGET", bought_key, product_id) or "0")
if pkey ~= "" then  -- the limit counts every token tied to the phone
  bought = math.max(bought, tonumber(redis.call("HGET", phone_bought_key, product_id) or "0"))
end
if product[2] and product[2] ~= "" and bought + qty > tonumber(product[2]) then
  return {"refused", "limit_exceeded", stock}
end
if available < qty then
  return {"refused", "sold_out", stock}
end

-- live.domain.option_unit_price: the deal price while the deal runs, only if it is a real
-- discount; an option with its own price pays the same amount less, if that leaves a price.
local normal = tonumber(product[3])
local own = option and option.price ~= cjson.null and option.price ~= nil
local price = normal
if own then
  price = option.price
end
local deal = redis.call("HGET", deals_key, product_id)
if deal then
  local dprice, ends_at = string.match(deal, "^(%S+) (%S+)$")
  dprice, ends_at = tonumber(dprice), tonumber(ends_at)
  if now < ends_at and dprice < normal then
    if not own then
      price = dprice
    elseif price - (normal - dprice) > 0 then
      price = price - (normal - dprice)
    end
  end
end

if (product[5] or "0") ~= shows_v then
  return {"stale"}
end

local number = redis.call("HINCRBY", show_key, "order_n", 1)
redis.call("HSET", order_key,
  "id", order_id, "show_id", show_id, "product_id", product_id, "buyer", buyer,
  "qty", qty, "price", price, "currency", product[4], "status", "claimed",
  "created_at", now_text, "key", key, "number", number, "ip", ip)
local option_name = ""
if option then
  option_name = option.name
  redis.call("HSET", order_key, "option_id", option_id, "option_name", option_name)
end
if preorder then
  redis.call("HSET", order_key, "preorder", "1", "ships_from", ships_from,
    "harvest", harvests + 1)
end
local expires_at = ""  -- holds (issue 14)
if tonumber(show[5] or "0") > 0 then
  -- whole milliseconds, rounded down (live.domain.hold_deadline): never later than the hold
  expires_at = string.format("%.3f", math.floor((now + tonumber(show[5])) * 1000) / 1000)
  redis.call("HSET", order_key, "expires_at", expires_at)
  redis.call("ZADD", deadlines_key, expires_at, order_id)
end
redis.call("RPUSH", show_orders_key, order_id)
redis.call("RPUSH", buyer_orders_key, order_id)
local record = order_id .. " " .. show_id .. " " .. product_id .. " " .. qty
if option then
  record = record .. " " .. option_id
end
redis.call("SET", idem_key, record, "EX", idem_ttl)
redis.call("HINCRBY", bought_key, product_id, qty)
if pkey ~= "" then
  redis.call("HINCRBY", phone_bought_key, product_id, qty)
end
redis.call("PERSIST", profile_key)  -- the token has an order: its delivery details stay
local taken = qty
if preorder then
  taken = 0
end
local left = redis.call("HINCRBY", product_key, "stock", 0 - taken)  -- never "-0"
local sold = redis.call("HINCRBY", product_key, "sold", qty)
local version = redis.call("HINCRBY", product_key, "version", 1)
local product_preordered = num(product[8])
if preorder then
  product_preordered = redis.call("HINCRBY", product_key, "preordered", qty)
end
local answer_stock = left
local event_options = nil  -- nil: the key is left out of the events
if option then
  option.stock = option.stock - taken
  option.sold = option.sold + qty
  if preorder then
    option.preordered = preordered + qty
  end
  answer_stock = option.stock
  redis.call("HSET", product_key, "options", cjson.encode(options))
  event_options = options
end
for i = first_other, #KEYS do
  local other = redis.call("HINCRBY", KEYS[i], "seq", 1)
  redis.call("PUBLISH", ARGV[i], cjson.encode({type = "stock", seq = other,
    product_id = product_id, stock = left, sold = sold, version = version,
    options = event_options, preordered = product_preordered}))
end
local seq = redis.call("HINCRBY", show_key, "seq", 1)
-- live.domain.toast_fields: only for a buyer who agreed to appear in toasts, and then only the
-- first character of the name (a UTF-8 sequence) and the city.
local toast = show[4] ~= "0"
local profile = redis.call("HMGET", profile_key, "name", "city", "toasts")
local name, city = cjson.null, cjson.null
if toast and profile[1] and profile[3] == "1" then
  local trimmed = string.match(profile[1], "^%s*(.-)%s*$")
  local first = string.match(trimmed, "^[%z\1-\127\194-\244][\128-\191]*")
  if first and first ~= "" then name = first end
  city = profile[2] or cjson.null
end
redis.call("PUBLISH", channel, cjson.encode({type = "order", seq = seq, product_id = product_id,
  stock = left, sold = sold, version = version, qty = qty, name = name, city = city,
  toast = toast, options = event_options, option_id = option and option_id or nil,
  preordered = product_preordered}))
local harvest = 0
if preorder then
  harvest = harvests + 1
end
return {"ok", order_id, answer_stock, seq, price, product[4], number, option_name,
  preorder and "1" or "", preorder and ships_from or "", harvest, expires_at}
