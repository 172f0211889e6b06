-- Edit a product's fields and/or its stock in one step; every show holding it hears of it.
--
-- KEYS
--   product_key   the product's hash
--   shows_key     the product's set of show ids holding it
--   then per show holding it (in the caller's list), three keys:
--     3i    the show's hash (its seq grows)
--     3i+1  the show's on-sale set      (for the product event: on sale there or not)
--     3i+2  the show's deals hash       (for the product event: its deal there)
-- ARGV
--   mode          "none" | "set" | "delta"
--   n             the stock to set, or to add (mode "delta")
--   max_stock     the cap on a requested increase
--   count         how many shows the caller believes hold it (= (#KEYS - 2) / 3)
--   shows_v       the version of the product's "shows" set the caller read them from (the
--                 product's "shows_v" field)
--   then count channels (one per show, in KEYS order), then field, value pairs to set
--
-- Publishes, per holding show with its new seq: when fields changed, a discrete "product"
-- event {seq, prev, product (its public fields), on_sale, deal} (live.events.ProductEdited),
-- so no receiver reads the product back; else a latest-value "stock" event.
-- Returns {"ok", field, value, ...} (the product after the change, read in the same step)
--       | {"missing"} | {"negative", stock} | {"too_large", stock} | {"stale"}
local product_key, shows_key = KEYS[1], KEYS[2]
local mode, n, max_stock = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local count, shows_v = tonumber(ARGV[4]), ARGV[5]
local first_channel, first_field = 6, 6 + count

local stock = redis.call("HGET", product_key, "stock")
if not stock then
  return {"missing"}
end
stock = tonumber(stock)
local new = stock
if mode == "set" then
  new = n
elseif mode == "delta" then
  new = stock + n
end
if new < 0 then
  return {"negative", stock}
end
-- Only a requested increase is capped: a product above the cap (after cancels) stays editable.
if new > stock and new > max_stock then
  return {"too_large", stock}
end
if (redis.call("HGET", product_key, "shows_v") or "0") ~= shows_v then
  return {"stale"}
end
local edited = #ARGV >= first_field
if edited then
  redis.call("HSET", product_key, unpack(ARGV, first_field))
end
redis.call("HSET", product_key, "stock", new)
local version = redis.call("HINCRBY", product_key, "version", 1)
local flat = redis.call("HGETALL", product_key)
local h = {}
for i = 1, #flat, 2 do
  h[flat[i]] = flat[i + 1]
end
local product_id, sold = h.id, tonumber(h.sold or "0")

-- The product's public fields (live.messages.product_json), with the defaults of a product
-- stored before a field existed (live.backends.redis.store._product).
local public
if edited then
  local limit = h.limit_per_buyer or ""
  public = {id = product_id, name = h.name, producer = h.producer or "",
    description = h.description or "", image_url = h.image_url or "", unit = h.unit or "",
    price = tonumber(h.price), currency = h.currency or "CNY", stock = new, sold = sold,
    limit_per_buyer = limit ~= "" and tonumber(limit) or cjson.null, version = version,
    archived = h.archived == "1"}
end

for i = 1, count do
  local show_key, on_sale_key, deals_key = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local channel = ARGV[first_channel + i - 1]
  local seq = redis.call("HINCRBY", show_key, "seq", 1)
  local event
  if edited then
    local prev = tonumber(redis.call("HGET", show_key, "eseq") or "0")
    redis.call("HSET", show_key, "eseq", seq)
    local deal = cjson.null
    local raw = redis.call("HGET", deals_key, product_id)
    if raw then
      local dprice, ends_at = string.match(raw, "^(%S+) (%S+)$")
      -- ends_at as the stored text: cjson keeps only 14 digits of a number
      deal = {price = tonumber(dprice), ends_at = ends_at}
    end
    event = {type = "product", seq = seq, prev = prev, product = public,
      on_sale = redis.call("SISMEMBER", on_sale_key, product_id) == 1, deal = deal}
  else
    event = {type = "stock", seq = seq, product_id = product_id, stock = new, sold = sold,
      version = version}
  end
  redis.call("PUBLISH", channel, cjson.encode(event))
end
table.insert(flat, 1, "ok")
return flat
