-- One host change to a show, its seq bump and its event, in one step.
-- KEYS: 1 show, 2 on_sale, 3 deals, 4 lineup
-- ARGV: 1 op, 2 the show's event channel, then per op:
--   featured     3 product_id or ""          (featuring also puts it on sale)
--   on_sale      3 product_id, 4 "1" | "0"
--   ordering     3 "1" | "0"                 (the on-sale flags stay as they are)
--   deal         3 product_id, 4 price or "" (ends the deal), 5 ends_at
--   toasts       3 "1" | "0"                 (sale toasts on or off)
--   end          (closes ordering, takes everything off sale, clears the featured product)
--   overlay_key  3 the new key               (not public: the event only closes old overlays)
-- An ended show is final: every op but overlay_key answers {"ended"}, except ending again and
-- closing ordering, which change nothing, publish nothing and answer the show as it is.
-- Publishes {"type": op-specific, "seq", "prev", ...}: discrete events carry the seq of the
-- show's previous discrete event as "prev", so a client can tell a lost event from a skipped
-- stock value.
-- Returns {"ok", show hash (flat), lineup, on_sale, deals (flat)} read after the change
--       | {"missing"} | {"not_in_lineup"} | {"ended"}
if redis.call("EXISTS", KEYS[1]) == 0 then
  return {"missing"}
end
local op, channel, product_id = ARGV[1], ARGV[2], ARGV[3]

local function read_back()
  return {"ok", redis.call("HGETALL", KEYS[1]), redis.call("LRANGE", KEYS[4], 0, -1),
    redis.call("SMEMBERS", KEYS[2]), redis.call("HGETALL", KEYS[3])}
end

if op ~= "overlay_key" and redis.call("HGET", KEYS[1], "ended") == "1" then
  if op == "end" or (op == "ordering" and ARGV[3] ~= "1") then
    return read_back()
  end
  return {"ended"}
end

local function in_lineup(pid)
  return redis.call("LPOS", KEYS[4], pid) ~= false
end

local event
if op == "featured" then
  if product_id ~= "" then
    if not in_lineup(product_id) then return {"not_in_lineup"} end
    redis.call("SADD", KEYS[2], product_id)
  end
  redis.call("HSET", KEYS[1], "featured", product_id)
  event = {type = "featured", product_id = product_id ~= "" and product_id or cjson.null}
elseif op == "on_sale" then
  if not in_lineup(product_id) then return {"not_in_lineup"} end
  if ARGV[4] == "1" then
    redis.call("SADD", KEYS[2], product_id)
  else
    redis.call("SREM", KEYS[2], product_id)
  end
  event = {type = "on_sale", product_id = product_id, on_sale = ARGV[4] == "1"}
elseif op == "ordering" then
  redis.call("HSET", KEYS[1], "ordering_open", ARGV[3])
  event = {type = "ordering", open = ARGV[3] == "1"}
elseif op == "toasts" then
  redis.call("HSET", KEYS[1], "toasts", ARGV[3])
  event = {type = "toasts", on = ARGV[3] == "1"}
elseif op == "deal" then
  if not in_lineup(product_id) then return {"not_in_lineup"} end
  if ARGV[4] == "" then
    redis.call("HDEL", KEYS[3], product_id)
    event = {type = "deal", product_id = product_id, deal_price = cjson.null,
      deal_ends_at = cjson.null}
  else
    redis.call("HSET", KEYS[3], product_id, ARGV[4] .. " " .. ARGV[5])
    -- ends_at as the stored text: cjson keeps only 14 digits of a number (the hub converts it)
    event = {type = "deal", product_id = product_id, deal_price = tonumber(ARGV[4]),
      deal_ends_at = ARGV[5]}
  end
elseif op == "end" then
  redis.call("HSET", KEYS[1], "ended", "1", "ordering_open", "0", "featured", "")
  redis.call("DEL", KEYS[2])
  event = {type = "show_ended"}
elseif op == "overlay_key" then
  redis.call("HSET", KEYS[1], "overlay_key", ARGV[3])
  event = {type = "overlay_key"}
else
  return redis.error_reply("unknown op " .. op)
end

local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
event.seq = seq
if op ~= "overlay_key" then
  event.prev = tonumber(redis.call("HGET", KEYS[1], "eseq") or "0")
  redis.call("HSET", KEYS[1], "eseq", seq)
end
redis.call("PUBLISH", channel, cjson.encode(event))
return read_back()
