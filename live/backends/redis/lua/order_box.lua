-- bundles (issue 13): a gift box's order, atomically: every part's units or nothing (see
-- live/backends/base.py: Store.place_order; live.domain.bundle_stock and order_refusal).
--
-- KEYS
--   show_key          the show's hash
--   on_sale_key       the show's on-sale set
--   deals_key         the show's deals (product id -> "price ends_at")
--   box_key           the box's hash ("parts": JSON [{product_id, qty, option_id, share}])
--   bought_key        the buyer's units per product (not cancelled)
--   idem_key          the buyer's idempotency record for this key
--   order_key         the new order's hash
--   show_orders_key   the show's list of order ids
--   buyer_orders_key  the buyer's list of order ids
--   profile_key       the buyer's profile (toast fields; "pkey": the phone the token is tied to)
--   phone_bought_key  the units per product of the phone `phone` (below)
--   deadlines_key     holds (issue 14): claims that may expire (zset: order id by expires_at)
--   box_shows_key     the box's set of shows (not read: its "shows_v" stands for it)
--   14..              the parts' product hashes, in the box's order; then their sets of shows
--                     (not read: each "shows_v" stands for it); then the shows to tell (below)
-- ARGV
--   show_id, box_id, buyer, qty, key, order_id, now, idem_ttl (seconds),
--   channel           this show's event channel
--   phone             the phone key the caller believes the token is tied to ("" none)
--   ip                the client address (kept on the order)
--   n                 the number of parts
--   parts             the box's "parts" as the caller read it (the part keys follow it)
--   box_shows_v       the version of the box's "shows" set the caller read from
--   15..              each part's "shows_v" as read; then, per show to tell, a triple: its
--                     index in KEYS, its channel, and the product it hears of (0: the box,
--                     i: part i)
--
-- Publishes {"type": "stock", ...} (live.events.Stock) of each part on every show holding it
-- and of the box on every other show holding it, each with that show's new seq, then
-- {"type": "order", ...} of the box on this show. A box's "stock" field is not kept: its
-- stock is what its parts allow, computed here and by the readers.
-- Returns one of:
--   {"ok", order_id, box stock after, seq, unit_price, currency, number, expires_at ("" none)}
--   {"dup", order_id, seq}             the key answered an earlier, identical order
--   {"refused", reason, stock or -1}
--   {"missing"}                        no such show
--   {"stale"}                          the parts or a set of shows changed: re-read, retry
--   {"rephone", phone key}             the token is tied to another phone: nothing written
local show_key, on_sale_key, deals_key, box_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local bought_key, idem_key, order_key, show_orders_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local buyer_orders_key, profile_key, phone_bought_key = KEYS[9], KEYS[10], KEYS[11]
local deadlines_key, box_shows_key = KEYS[12], KEYS[13]
local first_part_key = 14

local show_id, box_id, buyer, qty = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key, order_id, now_text, idem_ttl = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local channel, phone, ip, n = ARGV[9], ARGV[10], ARGV[11], tonumber(ARGV[12])
local parts_text, box_shows_v = ARGV[13], ARGV[14]
local first_part_v = 15
local now = tonumber(now_text)

local show = redis.call("HMGET", show_key, "ordering_open", "seq", "ended", "toasts", "hold")
if not show[2] then
  return {"missing"}
end

local earlier = redis.call("GET", idem_key)
if earlier then
  local oid, eshow, eproduct, eqty, eoption = string.match(earlier,
    "^(%S+) (%S+) (%S+) (%S+) ?(%S*)$")
  if eshow == show_id and eproduct == box_id and tonumber(eqty) == qty and eoption == "" then
    return {"dup", oid, show[2]}
  end
  return {"refused", "invalid", -1}
end

if show[1] ~= "1" or show[3] == "1" then
  return {"refused", "ordering_closed", -1}
end
local box = redis.call("HMGET", box_key, "parts", "limit_per_buyer", "price", "currency",
  "shows_v", "sold")
if redis.call("SISMEMBER", on_sale_key, box_id) == 0 or not box[1] then
  return {"refused", "not_on_sale", -1}
end
if box[1] ~= parts_text or (box[5] or "0") ~= box_shows_v then
  return {"stale"}
end
local parts = cjson.decode(parts_text)

-- Each part's product (its options decoded) and the cell its units come from.
local products, cells, options = {}, {}, {}
local stock = nil
for i = 1, n do
  local part = parts[i]
  local row = redis.call("HMGET", KEYS[first_part_key + i - 1], "stock", "options", "shows_v",
    "sold")
  if row[1] and (row[3] or "0") ~= ARGV[first_part_v + i - 1] then
    return {"stale"}
  end
  -- live.domain.part_cell: the option named, or the plain product; a part whose option is
  -- gone (or a product split into options since) allows no box (sold out, nothing taken)
  local cell = {stock = tonumber(row[1] or "0"), sold = tonumber(row[4] or "0")}
  local has_options = row[2] and row[2] ~= ""
  if part.option_id ~= nil and part.option_id ~= cjson.null then
    cell = {stock = 0, sold = 0}
    if has_options then
      options[i] = cjson.decode(row[2])
      for _, o in ipairs(options[i]) do
        if o.id == part.option_id then cell = o end
      end
    end
  elseif has_options then
    cell = {stock = 0, sold = 0}
  end
  products[i], cells[i] = row, cell
  local allowed = math.floor(math.max(0, cell.stock) / part.qty)
  if stock == nil or allowed < stock then stock = allowed end
end
stock = stock or 0

if stock <= 0 then
  return {"refused", "sold_out", stock}
end
local pkey = redis.call("HGET", profile_key, "pkey") or ""
if pkey ~= phone then
  return {"rephone", pkey}
end
local bought = tonumber(redis.call("HGET", bought_key, box_id) or "0")
if pkey ~= "" then
  bought = math.max(bought, tonumber(redis.call("HGET", phone_bought_key, box_id) or "0"))
end
if box[2] and box[2] ~= "" and bought + qty > tonumber(box[2]) then
  return {"refused", "limit_exceeded", stock}
end
if stock < qty then
  return {"refused", "sold_out", stock}
end

-- live.domain.unit_price: the deal price while the deal runs, only if it is a real discount
local price = tonumber(box[3])
local deal = redis.call("HGET", deals_key, box_id)
if deal then
  local dprice, ends_at = string.match(deal, "^(%S+) (%S+)$")
  dprice, ends_at = tonumber(dprice), tonumber(ends_at)
  if now < ends_at and dprice < price then
    price = dprice
  end
end

local number = redis.call("HINCRBY", show_key, "order_n", 1)
redis.call("HSET", order_key,
  "id", order_id, "show_id", show_id, "product_id", box_id, "buyer", buyer,
  "qty", qty, "price", price, "currency", box[4], "status", "claimed",
  "created_at", now_text, "key", key, "number", number, "ip", ip)
local expires_at = ""  -- holds (issue 14)
if tonumber(show[5] or "0") > 0 then
  expires_at = string.format("%.3f", math.floor((now + tonumber(show[5])) * 1000) / 1000)
  redis.call("HSET", order_key, "expires_at", expires_at)
  redis.call("ZADD", deadlines_key, expires_at, order_id)
end
redis.call("RPUSH", show_orders_key, order_id)
redis.call("RPUSH", buyer_orders_key, order_id)
redis.call("SET", idem_key, order_id .. " " .. show_id .. " " .. box_id .. " " .. qty,
  "EX", idem_ttl)
redis.call("HINCRBY", bought_key, box_id, qty)
if pkey ~= "" then
  redis.call("HINCRBY", phone_bought_key, box_id, qty)
end
redis.call("PERSIST", profile_key)

-- Take every part's units; each part's stock event as it is now.
local told = {}
for i = 1, n do
  local part_key, units = KEYS[first_part_key + i - 1], parts[i].qty * qty
  local left = redis.call("HINCRBY", part_key, "stock", 0 - units)
  local sold = redis.call("HINCRBY", part_key, "sold", units)
  local version = redis.call("HINCRBY", part_key, "version", 1)
  local event_options = nil
  if options[i] then
    cells[i].stock = cells[i].stock - units
    cells[i].sold = cells[i].sold + units
    redis.call("HSET", part_key, "options", cjson.encode(options[i]))
    event_options = options[i]
  end
  local preordered = tonumber(redis.call("HGET", part_key, "preordered") or "0") or 0
  told[i] = {type = "stock", product_id = parts[i].product_id, stock = left, sold = sold,
    version = version, options = event_options, preordered = preordered}
end
stock = stock - qty
local box_sold = redis.call("HINCRBY", box_key, "sold", qty)
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
local toast = show[4] ~= "0"
local profile = redis.call("HMGET", profile_key, "name", "city", "toasts")
local name, city = cjson.null, cjson.null
if toast and profile[1] and profile[3] == "1" then
  local trimmed = string.match(profile[1], "^%s*(.-)%s*$")
  local first = string.match(trimmed, "^[%z\1-\127\194-\244][\128-\191]*")
  if first and first ~= "" then name = first end
  city = profile[2] or cjson.null
end
redis.call("PUBLISH", channel, cjson.encode({type = "order", seq = seq, product_id = box_id,
  stock = stock, sold = box_sold, version = box_version, qty = qty, name = name, city = city,
  toast = toast, preordered = 0}))
return {"ok", order_id, stock, seq, price, box[4], number, expires_at}
