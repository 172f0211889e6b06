-- Create a show unless its id is taken; every lineup product must exist and not be archived.
-- KEYS: 1 show hash, 2 lineup list, 3 shows list, 4 the short code's key, then per lineup
--       product i (in order): 3 + 2i its product hash, 4 + 2i its "shows" set
-- ARGV: 1 show id, 2 lineup length n, 3 .. 2+n lineup ids, then field, value pairs of the show
-- Each lineup product's "shows_v" grows (its set of shows changed: see order.lua).
-- Returns {"ok"} | {"exists"} | {"missing", product_id} | {"archived", product_id}
--       | {"short_taken"}
local n = tonumber(ARGV[2])
if redis.call("EXISTS", KEYS[1]) == 1 then
  return {"exists"}
end
for i = 1, n do
  local archived = redis.call("HMGET", KEYS[3 + 2 * i], "id", "archived")
  if not archived[1] then
    return {"missing", ARGV[2 + i]}
  end
  if archived[2] == "1" then
    return {"archived", ARGV[2 + i]}
  end
end
if redis.call("EXISTS", KEYS[4]) == 1 then
  return {"short_taken"}
end
redis.call("HSET", KEYS[1], unpack(ARGV, 3 + n))
redis.call("SET", KEYS[4], ARGV[1])
for i = 1, n do
  redis.call("RPUSH", KEYS[2], ARGV[2 + i])
  redis.call("SADD", KEYS[4 + 2 * i], ARGV[1])
  redis.call("HINCRBY", KEYS[3 + 2 * i], "shows_v", 1)
end
redis.call("RPUSH", KEYS[3], ARGV[1])
return {"ok"}
