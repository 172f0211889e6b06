-- Replace a show's lineup (add, remove, reorder) in one step; see Store.set_lineup.
--
-- KEYS
--   show_key      the show's hash
--   lineup_key    the show's lineup list
--   on_sale_key   the show's on-sale set
--   deals_key     the show's deals hash
--   then per product j of U (every product of the lineup the caller read and of the new
--   one), two keys:
--     3 + 2j      its product hash
--     4 + 2j      its "shows" set
-- ARGV
--   show_id
--   channel       the show's event channel
--   n_old         the length of the lineup the caller read
--   n_new         the length of the new lineup
--   then the n_old ids of the lineup the caller read, the n_new ids of the new lineup, and
--   the ids of U in KEYS order
--
-- A removed product leaves the on-sale set, its deal and the featured slot; the show leaves its
-- "shows" set. Every product whose "shows" set changes gets its "shows_v" bumped, so order,
-- cancel and product scripts holding an older list of its shows answer "stale".
-- Publishes {"type": "lineup", "seq", "prev"} (live.events.LineupChanged, a discrete event).
-- Returns {"ok", show hash (flat), lineup, on_sale, deals (flat)} read after the change
--       | {"missing"} | {"ended"} | {"stale"} (the lineup is no longer the one the caller read)
--       | {"unknown", product_id} | {"archived", product_id}
local show_key, lineup_key, on_sale_key, deals_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local show_id, channel = ARGV[1], ARGV[2]
local n_old, n_new = tonumber(ARGV[3]), tonumber(ARGV[4])
local first_old, first_new = 5, 5 + n_old
local first_u = 5 + n_old + n_new
local n_u = (#KEYS - 4) / 2

local function product_key(j) return KEYS[3 + 2 * j] end
local function holders_key(j) return KEYS[4 + 2 * j] end

if redis.call("EXISTS", show_key) == 0 then
  return {"missing"}
end
if redis.call("HGET", show_key, "ended") == "1" then
  return {"ended"}
end
local current = redis.call("LRANGE", lineup_key, 0, -1)
if #current ~= n_old then
  return {"stale"}
end
local old, new, new_ids = {}, {}, {}
local same = n_old == n_new
for i = 1, n_old do
  if current[i] ~= ARGV[first_old + i - 1] then
    return {"stale"}
  end
  old[current[i]] = true
end
for i = 1, n_new do
  local pid = ARGV[first_new + i - 1]
  new[pid] = true
  new_ids[i] = pid
  if current[i] ~= pid then
    same = false
  end
end

local function read_back()
  return {"ok", redis.call("HGETALL", show_key), redis.call("LRANGE", lineup_key, 0, -1),
    redis.call("SMEMBERS", on_sale_key), redis.call("HGETALL", deals_key)}
end

for j = 1, n_u do
  local pid = ARGV[first_u + j - 1]
  if new[pid] then
    local product = redis.call("HMGET", product_key(j), "id", "archived")
    if not product[1] then
      return {"unknown", pid}
    end
    if product[2] == "1" and not old[pid] then
      return {"archived", pid}
    end
  end
end
if same then
  return read_back()
end

redis.call("DEL", lineup_key)
if n_new > 0 then
  redis.call("RPUSH", lineup_key, unpack(new_ids))
end
local featured = redis.call("HGET", show_key, "featured")
for j = 1, n_u do
  local pid = ARGV[first_u + j - 1]
  if old[pid] and not new[pid] then
    redis.call("SREM", holders_key(j), show_id)
    redis.call("HINCRBY", product_key(j), "shows_v", 1)
    redis.call("SREM", on_sale_key, pid)
    redis.call("HDEL", deals_key, pid)
    if featured == pid then
      redis.call("HSET", show_key, "featured", "")
    end
  elseif new[pid] and not old[pid] then
    redis.call("SADD", holders_key(j), show_id)
    redis.call("HINCRBY", product_key(j), "shows_v", 1)
  end
end

local seq = redis.call("HINCRBY", show_key, "seq", 1)
local prev = tonumber(redis.call("HGET", show_key, "eseq") or "0")
redis.call("HSET", show_key, "eseq", seq)
redis.call("PUBLISH", channel, cjson.encode({type = "lineup", seq = seq, prev = prev}))
return read_back()
