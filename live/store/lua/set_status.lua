-- Move an order forward (claimed -> paid -> shipped); cancelling has its own script.
-- KEYS: 1 order, 2 show.  ARGV: 1 new status
-- Returns {"ok", seq} | {"same"} | {"missing"} | {"cancelled"} | {"backwards", current}
local rank = {claimed = 0, paid = 1, shipped = 2}
local current = redis.call("HGET", KEYS[1], "status")
if not current then
  return {"missing"}
end
if current == "cancelled" then
  return {"cancelled"}
end
if current == ARGV[1] then
  return {"same"}
end
if rank[ARGV[1]] < rank[current] then
  return {"backwards", current}
end
redis.call("HSET", KEYS[1], "status", ARGV[1])
local seq = redis.call("HINCRBY", KEYS[2], "seq", 1)
return {"ok", seq}
