-- Move an order forward (claimed -> paid -> shipped); cancelling has its own script.
-- KEYS: 1 order, 2 show.  ARGV: 1 new status, 2 "1" when the host chose to ship it unpaid
-- Shipping a claimed (unpaid) order needs ARGV[2] and records cash_on_delivery ("cod").
-- Returns {"ok", seq} | {"same"} | {"missing"} | {"cancelled"} | {"backwards", current}
--       | {"unpaid"}
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
if current == "claimed" and ARGV[1] == "shipped" then
  if ARGV[2] ~= "1" then
    return {"unpaid"}
  end
  redis.call("HSET", KEYS[1], "cod", "1")
end
redis.call("HSET", KEYS[1], "status", ARGV[1])
local seq = redis.call("HINCRBY", KEYS[2], "seq", 1)
return {"ok", seq}
