-- Move an order forward (claimed -> paid -> shipped); cancelling has its own script.
--
-- KEYS
--   order_key     the order's hash
--   show_key      the order's show (its seq grows)
--   deadlines_key holds (issue 14): claims that may expire (a claim moving on leaves it)
-- ARGV
--   status        the new status
--   unpaid        "1" when the host chose to ship it unpaid
--   now           holds (issue 14): a claim due to expire at or before it can't move ("" none)
--   shipped_at    the time, kept as "shipped_at" when the order ships (issue 16: forgetting)
--
-- Shipping a claimed (unpaid) order needs `unpaid` and records cash_on_delivery ("cod").
-- Returns {"ok", seq} | {"same"} | {"missing"} | {"cancelled"} | {"backwards", current}
--       | {"unpaid"} | {"expired"} (expired, or due to)
local order_key, show_key, deadlines_key = KEYS[1], KEYS[2], KEYS[3]
local status, unpaid, now, shipped_at = ARGV[1], ARGV[2] == "1", ARGV[3], ARGV[4]

local rank = {claimed = 0, paid = 1, shipped = 2}
local current = redis.call("HGET", order_key, "status")
if not current then
  return {"missing"}
end
if current == "cancelled" then
  return {"cancelled"}
end
-- holds (issue 14): an expired claim, or one whose expiry is due, can only expire
if current == "expired" then
  return {"expired"}
end
local expires_at = redis.call("HGET", order_key, "expires_at")
if current == "claimed" and status ~= current and expires_at and now ~= ""
  and tonumber(expires_at) <= tonumber(now) then
  return {"expired"}
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
  redis.call("HSET", order_key, "shipped_at", shipped_at)
end
if expires_at then
  redis.call("ZREM", deadlines_key, redis.call("HGET", order_key, "id"))
end
local seq = redis.call("HINCRBY", show_key, "seq", 1)
return {"ok", seq}
