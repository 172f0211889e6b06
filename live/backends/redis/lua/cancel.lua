-- Cancel an order and return its quantity to stock, exactly once; or (holds, issue 14) expire
-- a claim whose hold ran out, the same way, with status "expired".
--
-- KEYS
--   order_key         the order's hash
--   product_key       the product's hash
--   bought_key        the buyer's units per product (not cancelled)
--   show_key          the order's show (its seq grows)
--   holders_key       the product's set of shows (not read: its version "shows_v" on the
--                     product stands for it)
--   profile_key       the buyer's profile (its "pkey": the phone the token is tied to)
--   phone_bought_key  the units per product of the phone `phone` (below)
--   deadlines_key     holds (issue 14): claims that may expire (the order leaves it)
--   9..               every other show holding the product (their seq grows too)
-- ARGV
--   product_id
--   qty               the order's qty, read just before (guards against a changed record)
--   shows_v           the version of the product's "shows" set the caller read KEYS 9.. from
--                     (the product's "shows_v" field)
--   channel           the event channel of show_key
--   phone             the phone key the caller believes the buyer is tied to ("" none)
--   expire_now        "" to cancel; holds (issue 14): a time, to expire the order only if it is
--                     still claimed and its "expires_at" is at or before it
--   7..               the channels of KEYS 9.. in the same order
--
-- Publishes {"type": "stock", ...} (live.events.Stock) on every holding show's channel with
-- its new seq (and every option's stock, for a product with options). An option's order goes
-- back to its option (a sold option is never removed, so it is there). A pre-order still waiting
-- for its harvest gives its units back to the pre-order room ("preordered"), not to stock.
-- Returns {"cancelled", stock, seq} | {"already"} | {"shipped"} | {"missing"} | {"stale"}
--   | {"rephone", phone key} (the buyer is tied to another phone: nothing written)
--   | {"expired"} (cancelling an expired order, or expiring one already gone: unchanged)
--   | {"not_due"} (expiring: not claimed, or its time has not come; it leaves the index if
--     it is not claimed)
local order_key, product_key, bought_key, show_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local holders_key, profile_key, phone_bought_key = KEYS[5], KEYS[6], KEYS[7]
local deadlines_key = KEYS[8]
local first_other_key = 9
local product_id, expected_qty, shows_v = ARGV[1], ARGV[2], ARGV[3]
local channel, phone, expire_now = ARGV[4], ARGV[5], ARGV[6]
local first_other_channel = 7

local order = redis.call("HMGET", order_key, "status", "qty", "product_id", "option_id",
  "preorder", "harvest", "id", "expires_at")
if not order[1] then
  return {"missing"}
end
-- holds (issue 14): an order expires once, only while claimed and due
if order[1] == "expired" then
  return {"expired"}
end
local new_status = "cancelled"
if expire_now ~= "" then
  if order[1] ~= "claimed" then
    redis.call("ZREM", deadlines_key, order[7])
    return {"not_due"}
  end
  if not order[8] or tonumber(order[8]) > tonumber(expire_now) then
    return {"not_due"}
  end
  new_status = "expired"
end
if order[1] == "cancelled" then
  return {"already"}
end
if order[1] == "shipped" then
  return {"shipped"}
end
if order[3] ~= product_id or order[2] ~= expected_qty then
  return {"missing"}
end
if (redis.call("HGET", product_key, "shows_v") or "0") ~= shows_v then
  return {"stale"}
end
local pkey = redis.call("HGET", profile_key, "pkey") or ""
if pkey ~= phone then
  return {"rephone", pkey}
end
local qty = tonumber(order[2])
if pkey ~= "" and redis.call("HINCRBY", phone_bought_key, product_id, -qty) <= 0 then
  redis.call("HDEL", phone_bought_key, product_id)
end
local function num(v)  -- a field stored before it existed, or cjson's null
  if v == nil or v == cjson.null or v == false then return 0 end
  return tonumber(v) or 0
end
redis.call("HSET", order_key, "status", new_status)
redis.call("ZREM", deadlines_key, order[7])
local event_options, option = nil, nil
local raw_options = redis.call("HGET", product_key, "options")
if order[4] and raw_options and raw_options ~= "" then
  event_options = cjson.decode(raw_options)
  for _, o in ipairs(event_options) do
    if o.id == order[4] then option = o end
  end
end
local harvests = num(redis.call("HGET", product_key, "harvests"))
if option then harvests = num(option.harvests) end
local waiting = 0
if order[5] == "1" and num(order[6]) == harvests + 1 then
  waiting = qty
end
local stock = redis.call("HINCRBY", product_key, "stock", qty - waiting)
local sold = redis.call("HINCRBY", product_key, "sold", -qty)
local preordered = redis.call("HINCRBY", product_key, "preordered", 0 - waiting)
local version = redis.call("HINCRBY", product_key, "version", 1)
if option then
  option.stock = option.stock + qty - waiting
  option.sold = option.sold - qty
  option.preordered = num(option.preordered) - waiting
  redis.call("HSET", product_key, "options", cjson.encode(event_options))
end
local left = redis.call("HINCRBY", bought_key, product_id, -qty)
if left <= 0 then
  redis.call("HDEL", bought_key, product_id)
end
local function stock_event(seq)
  return cjson.encode({type = "stock", seq = seq, product_id = product_id, stock = stock,
    sold = sold, version = version, options = event_options, preordered = preordered})
end
for i = first_other_key, #KEYS do
  local other_channel = ARGV[first_other_channel + i - first_other_key]
  redis.call("PUBLISH", other_channel, stock_event(redis.call("HINCRBY", KEYS[i], "seq", 1)))
end
local seq = redis.call("HINCRBY", show_key, "seq", 1)
redis.call("PUBLISH", channel, stock_event(seq))
return {"cancelled", stock, seq}
