-- Holds (issue 14): mark a parcel's orders paid, all or none (live/backends/base.py:
-- Store.pay_orders).
--
-- KEYS
--   deadlines_key  claims that may expire (a paid one leaves it)
--   show_key       the orders' show (its seq grows once)
--   3..            the orders' hashes, in the caller's order
-- ARGV
--   now            a claim due to expire at or before it can't be paid
--   2..            the orders' ids, in the same order as KEYS 3..
--
-- Paid or shipped orders stay as they are. Returns {"ok", seq}
--   | {"refused", order_id, status} (cancelled, expired, or "due": nothing written)
--   | {"missing", order_id}
local deadlines_key, show_key = KEYS[1], KEYS[2]
local first_order = 3
local now = tonumber(ARGV[1])
local first_id = 2

local to_pay = {}
for i = first_order, #KEYS do
  local id = ARGV[first_id + i - first_order]
  local order = redis.call("HMGET", KEYS[i], "status", "expires_at")
  if not order[1] then
    return {"missing", id}
  end
  if order[1] == "claimed" then
    if order[2] and tonumber(order[2]) <= now then
      return {"refused", id, "due"}
    end
    table.insert(to_pay, i)
  elseif order[1] ~= "paid" and order[1] ~= "shipped" then
    return {"refused", id, order[1]}
  end
end
for _, i in ipairs(to_pay) do
  redis.call("HSET", KEYS[i], "status", "paid")
  redis.call("ZREM", deadlines_key, ARGV[first_id + i - first_order])
end
return {"ok", redis.call("HINCRBY", show_key, "seq", 1)}
