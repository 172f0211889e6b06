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
--   mode          "none" | "set" | "delta" | "harvest" (n units arrived: they cover the
--                 pre-ordered units, the rest goes to stock; live.domain.check_harvest)
--   n             the stock to set, or to add (mode "delta")
--   max_stock     the cap on a requested increase
--   count         how many shows the caller believes hold it (= (#KEYS - 2) / 3)
--   shows_v       the version of the product's "shows" set the caller read them from (the
--                 product's "shows_v" field)
--   option_id     "" or the option whose stock `mode` changes (a product with options changes
--                 stock only through them: "has_options" otherwise)
--   options       "" or the product's new options as JSON (live.domain.merge_options, already
--                 checked by the caller): [{id, name, price, unit, weight_g, new, stock}]; one
--                 with `new` starts at its `stock`, the others keep theirs
--   then count channels (one per show, in KEYS order), then field, value pairs to set
--
-- Publishes, per holding show with its new seq: when fields or options changed, a discrete
-- "product" event {seq, prev, product (its public fields and options), on_sale, deal}
-- (live.events.ProductEdited), so no receiver reads the product back; else a latest-value
-- "stock" event (with every option's stock).
-- Returns {"ok", field, value, ...} (the product after the change, read in the same step)
--       | {"missing"} | {"negative", stock} | {"too_large", stock} | {"stale"}
--       | {"has_options"} | {"no_option", id} | {"sold_option", name} | {"sold_plain"}
--       | {"short", preordered} (a harvest smaller than the pre-orders) | {"which_option"}
--       | {"not_box"} | {"sold_box"} (bundles: "parts" set on a product that is no box, or
--         on a box with orders)
local product_key, shows_key = KEYS[1], KEYS[2]
local mode, n, max_stock = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local count, shows_v = tonumber(ARGV[4]), ARGV[5]
local option_id, wanted = ARGV[6], ARGV[7]
local first_channel, first_field = 8, 8 + count

local current = redis.call("HMGET", product_key, "stock", "options", "sold", "preordered",
  "harvests")
local stock = current[1]
if not stock then
  return {"missing"}
end
stock = tonumber(stock)
local options = nil
if current[2] and current[2] ~= "" then
  options = cjson.decode(current[2])
end
-- live.domain.check_new_stock, on the product or on one of its options.
local function changed(now)
  local after = now
  if mode == "set" then
    after = n
  elseif mode == "delta" then
    after = now + n
  end
  if after < 0 then
    return nil, {"negative", now}
  end
  -- Only a requested increase is capped: stock above the cap (after cancels) stays editable.
  if after > now and after > max_stock then
    return nil, {"too_large", now}
  end
  return after
end
local new, refusal
local harvested = nil  -- after a harvest: the product's preordered and harvests
local function num(v)  -- a field an option stored before it existed, or cjson's null
  if v == nil or v == cjson.null then return 0 end
  return tonumber(v)
end
if mode == "harvest" then
  local cell
  if option_id ~= "" then
    for _, o in ipairs(options or {}) do
      if o.id == option_id then cell = o end
    end
    if not cell then return {"no_option", option_id} end
  elseif options then
    return {"which_option"}
  else
    cell = {stock = stock, preordered = num(current[4]), harvests = num(current[5])}
  end
  local waiting = num(cell.preordered)
  if n < waiting then return {"short", waiting} end
  cell.stock = num(cell.stock) + n - waiting
  cell.preordered = 0
  cell.harvests = num(cell.harvests) + 1
  new = stock + n - waiting
  harvested = {num(current[4]) - waiting, options and num(current[5]) or cell.harvests}
elseif option_id ~= "" then
  local option = nil
  for _, o in ipairs(options or {}) do
    if o.id == option_id then option = o end
  end
  if not option then
    return {"no_option", option_id}
  end
  local after
  after, refusal = changed(option.stock)
  if not after then return refusal end
  new = stock + after - option.stock
  option.stock = after
elseif mode ~= "none" and options then
  return {"has_options"}
else
  new, refusal = changed(stock)
  if not new then return refusal end
end
-- live.domain.merge_options: options named by id keep their stock and sold; a sold one can't
-- be removed; a product gets options only while nothing of it is sold.
if wanted ~= "" then
  local by_id = {}
  for _, o in ipairs(options or {}) do by_id[o.id] = o end
  if not options and tonumber(current[3] or "0") > 0 then
    return {"sold_plain"}
  end
  local merged = cjson.decode(wanted)
  local kept = {}
  new = 0
  for _, o in ipairs(merged) do
    if o.new then
      o.sold, o.preordered, o.harvests = 0, 0, 0
    else
      local old = by_id[o.id]
      if not old then return {"no_option", o.id} end
      o.stock, o.sold = old.stock, old.sold
      o.preordered, o.harvests = num(old.preordered), num(old.harvests)
    end
    o.new = nil
    kept[o.id] = true
    new = new + o.stock
  end
  for _, o in ipairs(options or {}) do
    if not kept[o.id] and (o.sold > 0 or num(o.preordered) > 0) then
      return {"sold_option", o.name}
    end
  end
  options = merged
end
if (redis.call("HGET", product_key, "shows_v") or "0") ~= shows_v then
  return {"stale"}
end
-- bundles (issue 13): a gift box's "parts" change only while none of it is sold (its orders
-- give back the parts they took), and only a box has parts
for i = first_field, #ARGV, 2 do
  if ARGV[i] == "parts" then
    local parts = redis.call("HGET", product_key, "parts") or ""
    if parts == "" then return {"not_box"} end
    if tonumber(current[3] or "0") > 0 then return {"sold_box"} end
  end
end
local edited = #ARGV >= first_field or wanted ~= "" or harvested ~= nil
if harvested then
  redis.call("HSET", product_key, "preordered", harvested[1], "harvests", harvested[2])
end
if #ARGV >= first_field then
  redis.call("HSET", product_key, unpack(ARGV, first_field))
end
if options then
  redis.call("HSET", product_key, "options", cjson.encode(options))
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
    archived = h.archived == "1", options = options,
    preorder_cap = tonumber(h.preorder_cap or "0") or 0, ships_from = h.ships_from or "",
    preordered = tonumber(h.preordered or "0") or 0, harvests = tonumber(h.harvests or "0") or 0}
  if h.parts and h.parts ~= "" then public.parts = cjson.decode(h.parts) end  -- bundles (issue 13)
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
      version = version, options = options, preordered = tonumber(h.preordered or "0") or 0}
  end
  redis.call("PUBLISH", channel, cjson.encode(event))
end
table.insert(flat, 1, "ok")
return flat
