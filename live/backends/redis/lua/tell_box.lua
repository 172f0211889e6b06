-- bundles (issue 13): a part's stock changed (an order, a cancel, an expiry, a host edit): the
-- box's stock is what its parts allow now; when that differs from what was last told, keep it
-- and tell every show holding the box. Each run computes from the parts as they are, so the
-- last one leaves the truth whatever ran in between.
--
-- KEYS
--   box_key           the box's hash ("parts", "stock": the stock last told)
--   box_shows_key     the box's set of shows (not read: its "shows_v" stands for it)
--   3..               the parts' product hashes, in the box's order; then the shows holding
--                     the box
-- ARGV
--   box_id
--   parts             the box's "parts" as the caller read it
--   box_shows_v       the version of the box's "shows" set the caller read the shows from
--   n                 the number of parts
--   5..               the channels of the shows holding the box, in KEYS' order
--
-- Publishes {"type": "stock", ...} (live.events.Stock) of the box on each show, with its new
-- seq. Returns {"same"} | {"told", stock} | {"stale"} (re-read the parts and shows, retry).
local box_key, box_shows_key = KEYS[1], KEYS[2]
local first_part_key = 3
local box_id, parts_text, box_shows_v, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local first_channel = 5

local box = redis.call("HMGET", box_key, "parts", "shows_v", "stock", "sold")
if box[1] ~= parts_text or (box[2] or "0") ~= box_shows_v then
  return {"stale"}
end
local parts = cjson.decode(parts_text)
local stock = nil
for i = 1, n do
  local part = parts[i]
  local row = redis.call("HMGET", KEYS[first_part_key + i - 1], "stock", "options")
  local cell_stock = tonumber(row[1] or "0")
  if row[2] and row[2] ~= "" then cell_stock = 0 end  -- live.domain.part_cell
  if part.option_id ~= nil and part.option_id ~= cjson.null then
    cell_stock = 0
    if row[2] and row[2] ~= "" then
      for _, o in ipairs(cjson.decode(row[2])) do
        if o.id == part.option_id then cell_stock = o.stock end
      end
    end
  end
  local allowed = math.floor(math.max(0, cell_stock) / part.qty)
  if stock == nil or allowed < stock then stock = allowed end
end
stock = stock or 0
if tonumber(box[3] or "0") == stock then
  return {"same"}
end
redis.call("HSET", box_key, "stock", stock)
local version = redis.call("HINCRBY", box_key, "version", 1)
local first_show = first_part_key + n
for i = first_show, #KEYS do
  local seq = redis.call("HINCRBY", KEYS[i], "seq", 1)
  redis.call("PUBLISH", ARGV[first_channel + i - first_show], cjson.encode({type = "stock",
    seq = seq, product_id = box_id, stock = stock,
    sold = tonumber(box[4] or "0"), version = version, preordered = 0}))
end
return {"told", stock}
