-- bundles (issue 13): cancel a gift box's order and give every part its units back, exactly
-- once; or (holds, issue 14) expire a claim whose hold ran out the same way ("expired").
-- cancel.lua's twin for a box (see there).
--
-- KEYS
--   order_key         the order's hash
--   box_key           the box's hash
--   bought_key        the buyer's units per product (not cancelled)
--   show_key          the order's show (its seq grows)
--   box_shows_key     the box's set of shows (not read: its "shows_v" stands for it)
--   profile_key       the buyer's profile (its "pkey": the phone the token is tied to)
--   phone_bought_key  the units per product of the phone `phone` (below)
--   deadlines_key     holds (issue 14): claims that may expire (the order leaves it)
--   9..               the parts' product hashes, in the box's order; then their sets of shows
--                     (not read); then the shows to tell (below)
-- ARGV
--   box_id
--   qty               the order's qty, read just before (guards against a changed record)
--   channel           the event channel of show_key
--   phone             the phone key the caller believes the buyer is tied to ("" none)
--   expire_now        "" to cancel; a time, to expire the order only if it is still claimed
--                     and its "expires_at" is at or before it
--   n                 the number of parts
--   parts             the box's "parts" as the caller read it
--   box_shows_v       the version of the box's "shows" set the caller read from
--   9..               each part's "shows_v" as read; then, per show to tell, a triple: its
--                     index in KEYS, its channel, and the product it hears of (0: the box,
--                     i: part i)
--
-- Publishes the parts' and the box's {"type": "stock", ...} (live.events.Stock) on the shows
-- to tell, then the box's on this show, each with that show's new seq.
-- Returns {"cancelled", box stock, seq} | {"already"} | {"shipped"} | {"missing"} | {"stale"}
--   | {"rephone", phone key} | {"expired"} | {"not_due"} (as cancel.lua)
local order_key, box_key, bought_key, show_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local box_shows_key, profile_key, phone_bought_key = KEYS[5], KEYS[6], KEYS[7]
local deadlines_key = KEYS[8]
local first_part_key = 9
local box_id, expected_qty, channel, phone = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local expire_now, n, parts_text, box_shows_v = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local first_part_v = 9

local order = redis.call("HMGET", order_key, "status", "qty", "product_id", "id", "expires_at")
if not order[1] then
  return {"missing"}
end
if order[1] == "expired" then
  return {"expired"}
end
local new_status = "cancelled"
if expire_now ~= "" then
  if order[1] ~= "claimed" then
    redis.call("ZREM", deadlines_key, order[4])
    return {"not_due"}
  end
  if not order[5] or tonumber(order[5]) > tonumber(expire_now) then
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
if order[3] ~= box_id or order[2] ~= expected_qty then
  return {"missing"}
end
local box = redis.call("HMGET", box_key, "parts", "shows_v")
if box[1] ~= parts_text or (box[2] or "0") ~= box_shows_v then
  return {"stale"}
end
local parts = cjson.decode(parts_text)
for i = 1, n do
  local v = redis.call("HGET", KEYS[first_part_key + i - 1], "shows_v") or "0"
  if v ~= ARGV[first_part_v + i - 1] then
    return {"stale"}
  end
end
local pkey = redis.call("HGET", profile_key, "pkey") or ""
if pkey ~= phone then
  return {"rephone", pkey}
end
local qty = tonumber(order[2])
if pkey ~= "" and redis.call("HINCRBY", phone_bought_key, box_id, -qty) <= 0 then
  redis.call("HDEL", phone_bought_key, box_id)
end
if redis.call("HINCRBY", bought_key, box_id, -qty) <= 0 then
  redis.call("HDEL", bought_key, box_id)
end
redis.call("HSET", order_key, "status", new_status)
redis.call("ZREM", deadlines_key, order[4])

-- Every part gets its units back (a part's option is never removed while sold, so it is
-- there); the box's stock is what the parts allow after.
local told = {}
local stock = nil
for i = 1, n do
  local part_key, part, units = KEYS[first_part_key + i - 1], parts[i], parts[i].qty * qty
  local left = redis.call("HINCRBY", part_key, "stock", units)
  local sold = redis.call("HINCRBY", part_key, "sold", 0 - units)
  local version = redis.call("HINCRBY", part_key, "version", 1)
  local cell_stock = left
  local event_options = nil
  if part.option_id ~= nil and part.option_id ~= cjson.null then
    event_options = cjson.decode(redis.call("HGET", part_key, "options"))
    for _, o in ipairs(event_options) do
      if o.id == part.option_id then
        o.stock = o.stock + units
        o.sold = o.sold - units
        cell_stock = o.stock
      end
    end
    redis.call("HSET", part_key, "options", cjson.encode(event_options))
  end
  local allowed = math.floor(math.max(0, cell_stock) / part.qty)
  if stock == nil or allowed < stock then stock = allowed end
  local preordered = tonumber(redis.call("HGET", part_key, "preordered") or "0") or 0
  told[i] = {type = "stock", product_id = part.product_id, stock = left, sold = sold,
    version = version, options = event_options, preordered = preordered}
end
stock = stock or 0
local box_sold = redis.call("HINCRBY", box_key, "sold", 0 - qty)
local box_version = redis.call("HINCRBY", box_key, "version", 1)
redis.call("HSET", box_key, "stock", stock)  -- as of now, for whoever reads the hash whole
told[0] = {type = "stock", product_id = box_id, stock = stock, sold = box_sold,
  version = box_version, preordered = 0}
local first_target = first_part_v + n
for t = first_target, #ARGV, 3 do
  local event = told[tonumber(ARGV[t + 2])]
  event.seq = redis.call("HINCRBY", KEYS[tonumber(ARGV[t])], "seq", 1)
  redis.call("PUBLISH", ARGV[t + 1], cjson.encode(event))
end
local seq = redis.call("HINCRBY", show_key, "seq", 1)
told[0].seq = seq
redis.call("PUBLISH", channel, cjson.encode(told[0]))
return {"cancelled", stock, seq}
