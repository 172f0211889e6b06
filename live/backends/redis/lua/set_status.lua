-- Move an order forward (claimed -> paid -> shipped); cancelling has its own script.
--
-- KEYS
--   order_key     the order's hash
--   show_key      the order's show (its seq grows)
-- ARGV
--   status        the new status
--   unpaid        "1" when the host chose to ship it unpaid
--   now           the time, kept as "shipped_at" when the order ships
--
-- Shipping a claimed (unpaid) order needs `unpaid` and records cash_on_delivery ("cod").
-- Returns {"ok", seq} | {"same"} | {"missing"} | {"cancelled"} | {"backwards", current}
--       | {"unpaid"}
local order_key, show_key = KEYS[1], KEYS[2]
local status, unpaid, now = ARGV[1], ARGV[2] == "1", ARGV[3]

local rank = {claimed = 0, paid = 1, shipped = 2}
local current = redis.call("HGET", order_key, "status")
if not current then
  return {"missing"}
end
if current == "cancelled" then
  return {"cancelled"}
end
if current == status then
  return {"same"}
end
if rank[status] < rank[current] then
  return {"backwards", current}
end
if current == "claimed" and status == "shipped" then
  if not unpaid then
    return {"unpaid"}
  end
  redis.call("HSET", order_key, "cod", "1")
end
redis.call("HSET", order_key, "status", status)
if status == "shipped" then
  redis.call("HSET", order_key, "shipped_at", now)
end
local seq = redis.call("HINCRBY", show_key, "seq", 1)
return {"ok", seq}
