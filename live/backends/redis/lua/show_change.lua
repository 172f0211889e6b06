-- One host change to a show, its seq bump and its event, in one step.
--
-- KEYS
--   show_key      the show's hash
--   on_sale_key   the show's set of product ids on sale
--   deals_key     the show's deals (product id -> "price ends_at")
--   lineup_key    the show's lineup list
-- ARGV
--   op            featured | on_sale | ordering | deal | toasts | end | overlay_key
--   channel       the show's event channel
--   a1, a2, a3    the op's arguments:
--     featured     a1 product_id or ""          (featuring also puts it on sale)
--     on_sale      a1 product_id, a2 "1" | "0"
--     ordering     a1 "1" | "0"                 (the on-sale flags stay as they are)
--     deal         a1 product_id, a2 price or "" (ends the deal), a3 ends_at
--     toasts       a1 "1" | "0"                 (sale toasts on or off)
--     end          (closes ordering, takes everything off sale, clears the featured product)
--     overlay_key  a1 the new key, a2 its digest (live.events.key_digest: the event carries
--                  the digest only, so the key itself never crosses pub/sub)
--
-- An ended show is final: every op but overlay_key answers {"ended"}, except ending again and
-- closing ordering, which change nothing, publish nothing and answer the show as it is.
-- Publishes one live.events event with the show's new seq: discrete events carry the seq of
-- the show's previous discrete event as "prev", so a client can tell a lost event from a
-- skipped stock value.
-- Returns {"ok", show hash (flat), lineup, on_sale, deals (flat)} read after the change
--       | {"missing"} | {"not_in_lineup"} | {"ended"}
local show_key, on_sale_key, deals_key, lineup_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, channel = ARGV[1], ARGV[2]
local a1, a2, a3 = ARGV[3], ARGV[4], ARGV[5]

if redis.call("EXISTS", show_key) == 0 then
  return {"missing"}
end

local function read_back()
  return {"ok", redis.call("HGETALL", show_key), redis.call("LRANGE", lineup_key, 0, -1),
    redis.call("SMEMBERS", on_sale_key), redis.call("HGETALL", deals_key)}
end

if op ~= "overlay_key" and redis.call("HGET", show_key, "ended") == "1" then
  if op == "end" or (op == "ordering" and a1 ~= "1") then
    return read_back()
  end
  return {"ended"}
end

local function in_lineup(pid)
  return redis.call("LPOS", lineup_key, pid) ~= false
end

local event
if op == "featured" then
  local product_id = a1
  if product_id ~= "" then
    if not in_lineup(product_id) then return {"not_in_lineup"} end
    redis.call("SADD", on_sale_key, product_id)
  end
  redis.call("HSET", show_key, "featured", product_id)
  event = {type = "featured", product_id = product_id ~= "" and product_id or cjson.null}
elseif op == "on_sale" then
  local product_id, on = a1, a2 == "1"
  if not in_lineup(product_id) then return {"not_in_lineup"} end
  if on then
    redis.call("SADD", on_sale_key, product_id)
  else
    redis.call("SREM", on_sale_key, product_id)
  end
  event = {type = "on_sale", product_id = product_id, on_sale = on}
elseif op == "ordering" then
  redis.call("HSET", show_key, "ordering_open", a1)
  event = {type = "ordering", open = a1 == "1"}
elseif op == "toasts" then
  redis.call("HSET", show_key, "toasts", a1)
  event = {type = "toasts", on = a1 == "1"}
elseif op == "deal" then
  local product_id, price, ends_at = a1, a2, a3
  if not in_lineup(product_id) then return {"not_in_lineup"} end
  if price == "" then
    redis.call("HDEL", deals_key, product_id)
    event = {type = "deal", product_id = product_id, deal_price = cjson.null,
      deal_ends_at = cjson.null}
  else
    redis.call("HSET", deals_key, product_id, price .. " " .. ends_at)
    -- ends_at as the stored text: cjson keeps only 14 digits of a number (the feed reads the
    -- text as the event's float)
    event = {type = "deal", product_id = product_id, deal_price = tonumber(price),
      deal_ends_at = ends_at}
  end
elseif op == "end" then
  redis.call("HSET", show_key, "ended", "1", "ordering_open", "0", "featured", "")
  redis.call("DEL", on_sale_key)
  event = {type = "show_ended"}
elseif op == "overlay_key" then
  redis.call("HSET", show_key, "overlay_key", a1)
  event = {type = "overlay_key", key_digest = a2}
else
  return redis.error_reply("unknown op " .. op)
end

local seq = redis.call("HINCRBY", show_key, "seq", 1)
event.seq = seq
if op ~= "overlay_key" then
  event.prev = tonumber(redis.call("HGET", show_key, "eseq") or "0")
  redis.call("HSET", show_key, "eseq", seq)
end
redis.call("PUBLISH", channel, cjson.encode(event))
return read_back()
