-- Forget a buyer token's delivery details, keeping its orders' figures (Store.forget_buyer).
--
-- KEYS
--   profile_key       the token's details (and "pkey", the phone it is tied to)
--   buyer_orders_key  the token's list of order ids
--   phone_bought_key  the units per product of the phone `phone` (below)
--   4..               the token's orders, in the list's order
-- ARGV
--   phone             the phone key the caller believes the token is tied to ("" none)
--   settled_before    "" (forget anyway) or a time: forget only if every order is released or
--                     shipped before it (cancelled, expired and pre-"shipped_at" orders: their
--                     creation)
--   orders            how many orders the caller read (KEYS 4..)
-- Returns {"ok", 1 | 0 (nothing was there)} | {"unsettled"} | {"stale"} | {"rephone", pkey}
local profile_key, buyer_orders_key, phone_bought_key = KEYS[1], KEYS[2], KEYS[3]
local phone, settled_before, n = ARGV[1], ARGV[2], tonumber(ARGV[3])

if redis.call("LLEN", buyer_orders_key) ~= n then
  return {"stale"}
end
local pkey = redis.call("HGET", profile_key, "pkey") or ""
if pkey ~= phone then
  return {"rephone", pkey}
end

local orders = {}
for i = 4, #KEYS do
  orders[#orders + 1] = redis.call("HMGET", KEYS[i], "status", "created_at", "shipped_at", "qty",
    "product_id", "ip")
end
if settled_before ~= "" then
  if n == 0 then
    return {"unsettled"}
  end
  local cutoff = tonumber(settled_before)
  for _, o in ipairs(orders) do
    local since
    if o[1] == "cancelled" or o[1] == "expired" then
      since = tonumber(o[2])
    elseif o[1] == "shipped" then
      since = tonumber(o[3] or "") or tonumber(o[2])
    else
      return {"unsettled"}
    end
    if since >= cutoff then
      return {"unsettled"}
    end
  end
end

local had = redis.call("DEL", profile_key)
for i, o in ipairs(orders) do
  if pkey ~= "" and o[1] and o[1] ~= "cancelled" and o[1] ~= "expired" then
    if redis.call("HINCRBY", phone_bought_key, o[5], -tonumber(o[4])) <= 0 then
      redis.call("HDEL", phone_bought_key, o[5])
    end
  end
  if o[6] and o[6] ~= "" then
    redis.call("HDEL", KEYS[i + 3], "ip")
    had = 1
  end
end
return {"ok", had}
