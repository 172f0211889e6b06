-- Create a show unless its id is taken; every lineup product must exist and not be archived.
--
-- KEYS
--   show_key      the show's hash
--   lineup_key    the show's lineup list
--   shows_key     the list of every show id, oldest first
--   short_key     the show's short code (-> its id)
--   then per lineup product i (in order), two keys:
--     3 + 2i      its product hash
--     4 + 2i      its "shows" set
-- ARGV
--   show_id
--   n             the lineup's length
--   3 .. 2+n      the lineup's product ids
--   then field, value pairs of the show
--
-- Each lineup product's "shows_v" grows (its set of shows changed: see order.lua).
-- Returns {"ok"} | {"exists"} | {"missing", product_id} | {"archived", product_id}
--       | {"short_taken"}
local show_key, lineup_key, shows_key, short_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local show_id, n = ARGV[1], tonumber(ARGV[2])
local first_id, first_field = 3, 3 + n

local function product_key(i) return KEYS[3 + 2 * i] end
local function holders_key(i) return KEYS[4 + 2 * i] end
local function lineup_id(i) return ARGV[first_id + i - 1] end

if redis.call("EXISTS", show_key) == 1 then
  return {"exists"}
end
for i = 1, n do
  local archived = redis.call("HMGET", product_key(i), "id", "archived")
  if not archived[1] then
    return {"missing", lineup_id(i)}
  end
  if archived[2] == "1" then
    return {"archived", lineup_id(i)}
  end
end
if redis.call("EXISTS", short_key) == 1 then
  return {"short_taken"}
end
redis.call("HSET", show_key, unpack(ARGV, first_field))
redis.call("SET", short_key, show_id)
for i = 1, n do
  redis.call("RPUSH", lineup_key, lineup_id(i))
  redis.call("SADD", holders_key(i), show_id)
  redis.call("HINCRBY", product_key(i), "shows_v", 1)
end
redis.call("RPUSH", shows_key, show_id)
return {"ok"}
