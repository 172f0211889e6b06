-- The whole order step, atomically (see live/store/base.py: Store.place_order).
-- KEYS: 1 show, 2 on_sale, 3 deals, 4 product, 5 buyer bought, 6 idem, 7 order, 8 show orders,
--       9 the product's "shows" set, 10 the buyer's orders, 11 the buyer's profile (for the
--       toast: first character of the name, and the city; its "pkey": the phone the token is
--       tied to), 12 the bought units of the phone ARGV[11],
--       13.. every other show holding the product (their seq grows: they show this stock too)
-- ARGV: 1 show_id, 2 product_id, 3 buyer, 4 qty, 5 key, 6 order_id, 7 now, 8 idem ttl seconds,
--       9 the version of the product's "shows" set the caller read KEYS 13.. from (the
--       product's "shows_v" field, which grows whenever the set changes),
--       10 the event channel of this show, 11 the phone key the caller believes the token is
--       tied to ("" none), 12 the client address (kept on the order as "ip"),
--       13.. the channels of KEYS 13.. in the same order
-- Publishes {"type": "order", ...} on this show's channel and {"type": "stock", ...} on the
-- others', each with that show's new seq (see docs/protocol.md). The order event carries
-- toast = false, and no buyer name or city, when the show's sale toasts are off.
-- An accepted order gets the show's next order number (the show's "order_n" counter).
-- Returns one of:
--   {"ok", order_id, stock_after, seq, unit_price, currency, number}
--   {"dup", order_id, seq}               the key answered an earlier, identical order
--   {"refused", reason, stock or -1}
--   {"missing"}                          no such show
--   {"stale"}                            KEYS 13.. is out of date: nothing written, re-read, retry
--   {"rephone", phone key}               the token is tied to another phone: nothing written
local show_id, product_id, buyer = ARGV[1], ARGV[2], ARGV[3]
local qty = tonumber(ARGV[4])
local now = tonumber(ARGV[7])

local show = redis.call("HMGET", KEYS[1], "ordering_open", "seq", "ended", "toasts")
if not show[2] then
  return {"missing"}
end

local earlier = redis.call("GET", KEYS[6])
if earlier then
  local oid, eshow, eproduct, eqty = string.match(earlier, "^(%S+) (%S+) (%S+) (%S+)$")
  if eshow == show_id and eproduct == product_id and tonumber(eqty) == qty then
    return {"dup", oid, show[2]}
  end
  return {"refused", "invalid", -1}
end

if show[1] ~= "1" or show[3] == "1" then
  return {"refused", "ordering_closed", -1}
end

local product = redis.call("HMGET", KEYS[4], "stock", "limit_per_buyer", "price", "currency",
  "shows_v")
if redis.call("SISMEMBER", KEYS[2], product_id) == 0 or not product[1] then
  return {"refused", "not_on_sale", -1}
end

local stock = tonumber(product[1])
if stock <= 0 then
  return {"refused", "sold_out", stock}
end
local pkey = redis.call("HGET", KEYS[11], "pkey") or ""
if pkey ~= ARGV[11] then
  return {"rephone", pkey}
end
local bought = tonumber(redis.call("HGET", KEYS[5], product_id) or "0")
if pkey ~= "" then  -- the limit counts every token tied to the phone
  bought = math.max(bought, tonumber(redis.call("HGET", KEYS[12], product_id) or "0"))
end
if product[2] and product[2] ~= "" and bought + qty > tonumber(product[2]) then
  return {"refused", "limit_exceeded", stock}
end
if stock < qty then
  return {"refused", "sold_out", stock}
end

-- live.domain.unit_price: the deal price while the deal runs, only if it is a real discount.
local price = tonumber(product[3])
local deal = redis.call("HGET", KEYS[3], product_id)
if deal then
  local dprice, ends_at = string.match(deal, "^(%S+) (%S+)$")
  dprice, ends_at = tonumber(dprice), tonumber(ends_at)
  if now < ends_at and dprice < price then
    price = dprice
  end
end

if (product[5] or "0") ~= ARGV[9] then
  return {"stale"}
end

local order_id = ARGV[6]
local number = redis.call("HINCRBY", KEYS[1], "order_n", 1)
redis.call("HSET", KEYS[7],
  "id", order_id, "show_id", show_id, "product_id", product_id, "buyer", buyer,
  "qty", qty, "price", price, "currency", product[4], "status", "claimed",
  "created_at", ARGV[7], "key", ARGV[5], "number", number, "ip", ARGV[12])
redis.call("RPUSH", KEYS[8], order_id)
redis.call("RPUSH", KEYS[10], order_id)
redis.call("SET", KEYS[6], order_id .. " " .. show_id .. " " .. product_id .. " " .. qty, "EX", ARGV[8])
redis.call("HINCRBY", KEYS[5], product_id, qty)
if pkey ~= "" then
  redis.call("HINCRBY", KEYS[12], product_id, qty)
end
redis.call("PERSIST", KEYS[11])  -- the token has an order: its delivery details stay
local left = redis.call("HINCRBY", KEYS[4], "stock", -qty)
local sold = redis.call("HINCRBY", KEYS[4], "sold", qty)
local version = redis.call("HINCRBY", KEYS[4], "version", 1)
for i = 13, #KEYS do
  local other = redis.call("HINCRBY", KEYS[i], "seq", 1)
  redis.call("PUBLISH", ARGV[i], cjson.encode({type = "stock", seq = other,
    product_id = product_id, stock = left, sold = sold, version = version}))
end
local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
-- live.domain.toast_fields: only for a buyer who agreed to appear in toasts, and then only the
-- first character of the name (a UTF-8 sequence) and the city.
local toast = show[4] ~= "0"
local profile = redis.call("HMGET", KEYS[11], "name", "city", "toasts")
local name, city = cjson.null, cjson.null
if toast and profile[1] and profile[3] == "1" then
  local trimmed = string.match(profile[1], "^%s*(.-)%s*$")
  local first = string.match(trimmed, "^[%z\1-\127\194-\244][\128-\191]*")
  if first and first ~= "" then name = first end
  city = profile[2] or cjson.null
end
redis.call("PUBLISH", ARGV[10], cjson.encode({type = "order", seq = seq, product_id = product_id,
  stock = left, sold = sold, version = version, qty = qty, name = name, city = city,
  toast = toast}))
return {"ok", order_id, left, seq, price, product[4], number}
