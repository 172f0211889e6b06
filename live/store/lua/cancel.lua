-- Cancel an order and return its quantity to stock, exactly once.
-- KEYS: 1 order, 2 product, 3 buyer bought, 4 the order's show, 5 the product's "shows" set,
--       6 the buyer's profile (its "pkey": the phone the token is tied to), 7 the bought units
--       of the phone ARGV[5], 8.. every other show holding the product (their seq grows too)
-- ARGV: 1 product_id, 2 expected qty (read just before; guards against a changed record),
--       3 the version of the product's "shows" set the caller read KEYS 8.. from (the
--       product's "shows_v" field), 4 the channel of KEYS[4],
--       5 the phone key the caller believes the buyer is tied to ("" none),
--       6.. the channels of KEYS 8.. in the same order
-- Publishes {"type": "stock", ...} on every holding show's channel with its new seq.
-- Returns {"cancelled", stock, seq} | {"already"} | {"shipped"} | {"missing"} | {"stale"}
--   | {"rephone", phone key} (the buyer is tied to another phone: nothing written)
local order = redis.call("HMGET", KEYS[1], "status", "qty", "product_id")
if not order[1] then
  return {"missing"}
end
if order[1] == "cancelled" then
  return {"already"}
end
if order[1] == "shipped" then
  return {"shipped"}
end
if order[3] ~= ARGV[1] or order[2] ~= ARGV[2] then
  return {"missing"}
end
if (redis.call("HGET", KEYS[2], "shows_v") or "0") ~= ARGV[3] then
  return {"stale"}
end
local pkey = redis.call("HGET", KEYS[6], "pkey") or ""
if pkey ~= ARGV[5] then
  return {"rephone", pkey}
end
if pkey ~= "" and redis.call("HINCRBY", KEYS[7], ARGV[1], -tonumber(order[2])) <= 0 then
  redis.call("HDEL", KEYS[7], ARGV[1])
end
local qty = tonumber(order[2])
redis.call("HSET", KEYS[1], "status", "cancelled")
local stock = redis.call("HINCRBY", KEYS[2], "stock", qty)
local sold = redis.call("HINCRBY", KEYS[2], "sold", -qty)
local version = redis.call("HINCRBY", KEYS[2], "version", 1)
local left = redis.call("HINCRBY", KEYS[3], ARGV[1], -qty)
if left <= 0 then
  redis.call("HDEL", KEYS[3], ARGV[1])
end
local function stock_event(seq)
  return cjson.encode({type = "stock", seq = seq, product_id = ARGV[1], stock = stock,
    sold = sold, version = version})
end
for i = 8, #KEYS do
  redis.call("PUBLISH", ARGV[i - 2], stock_event(redis.call("HINCRBY", KEYS[i], "seq", 1)))
end
local seq = redis.call("HINCRBY", KEYS[4], "seq", 1)
redis.call("PUBLISH", ARGV[4], stock_event(seq))
return {"cancelled", stock, seq}
