-- Replace a show's lineup (add, remove, reorder) in one step; see Store.set_lineup.
-- KEYS: 1 show, 2 lineup, 3 on_sale, 4 deals, then per product j of U (every product of the
--       lineup the caller read and of the new one): 3 + 2j its product hash, 4 + 2j its "shows"
--       set
-- ARGV: 1 show id, 2 the show's event channel, 3 n_old, 4 n_new, 5 .. 4+n_old the lineup the
--       caller read, then the n_new ids of the new lineup, then the ids of U in KEYS order
-- A removed product leaves the on-sale set, its deal and the featured slot; the show leaves its
-- "shows" set. Every product whose "shows" set changes gets its "shows_v" bumped, so order,
-- cancel and product scripts holding an older list of its shows answer "stale".
-- Publishes {"type": "lineup", "seq", "prev"} (a discrete event).
-- Returns {"ok", show hash (flat), lineup, on_sale, deals (flat)} read after the change
--       | {"missing"} | {"ended"} | {"stale"} (the lineup is no longer the one the caller read)
--       | {"unknown", product_id} | {"archived", product_id}
if redis.call("EXISTS", KEYS[1]) == 0 then
  return {"missing"}
end
if redis.call("HGET", KEYS[1], "ended") == "1" then
  return {"ended"}
end
local show_id, channel = ARGV[1], ARGV[2]
local n_old, n_new = tonumber(ARGV[3]), tonumber(ARGV[4])

local current = redis.call("LRANGE", KEYS[2], 0, -1)
if #current ~= n_old then
  return {"stale"}
end
local old, new, new_ids = {}, {}, {}
local same = n_old == n_new
for i = 1, n_old do
  if current[i] ~= ARGV[4 + i] then
    return {"stale"}
  end
  old[current[i]] = true
end
for i = 1, n_new do
  local pid = ARGV[4 + n_old + i]
  new[pid] = true
  new_ids[i] = pid
  if current[i] ~= pid then
    same = false
  end
end

local function read_back()
  return {"ok", redis.call("HGETALL", KEYS[1]), redis.call("LRANGE", KEYS[2], 0, -1),
    redis.call("SMEMBERS", KEYS[3]), redis.call("HGETALL", KEYS[4])}
end

local first_u = 5 + n_old + n_new
local n_u = (#KEYS - 4) / 2
for j = 1, n_u do
  local pid = ARGV[first_u + j - 1]
  if new[pid] then
    local product = redis.call("HMGET", KEYS[3 + 2 * j], "id", "archived")
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

redis.call("DEL", KEYS[2])
if n_new > 0 then
  redis.call("RPUSH", KEYS[2], unpack(new_ids))
end
local featured = redis.call("HGET", KEYS[1], "featured")
for j = 1, n_u do
  local pid = ARGV[first_u + j - 1]
  if old[pid] and not new[pid] then
    redis.call("SREM", KEYS[4 + 2 * j], show_id)
    redis.call("HINCRBY", KEYS[3 + 2 * j], "shows_v", 1)
    redis.call("SREM", KEYS[3], pid)
    redis.call("HDEL", KEYS[4], pid)
    if featured == pid then
      redis.call("HSET", KEYS[1], "featured", "")
    end
  elseif new[pid] and not old[pid] then
    redis.call("SADD", KEYS[4 + 2 * j], show_id)
    redis.call("HINCRBY", KEYS[3 + 2 * j], "shows_v", 1)
  end
end

local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
local prev = tonumber(redis.call("HGET", KEYS[1], "eseq") or "0")
redis.call("HSET", KEYS[1], "eseq", seq)
redis.call("PUBLISH", channel, cjson.encode({type = "lineup", seq = seq, prev = prev}))
return read_back()
