-- Store a buyer's delivery details and tie the token to a phone number, in one step
-- (see live/backends/base.py: Store.set_profile).
--
-- KEYS
--   profile_key       the buyer's profile hash (with "pkey": the phone the token is tied to)
--   bought_key        the buyer's units per product (not cancelled)
--   buyer_orders_key  the buyer's list of order ids
--   old_phone_key     the units per product of the phone `old_phone`
--   new_phone_key     the units per product of the phone `new_phone`
-- ARGV
--   old_phone         the phone key the caller believes the token is tied to ("" none)
--   new_phone         the phone key to tie it to ("" none)
--   ttl               seconds to keep the details of a token without orders
--   4..               field, value pairs of the details
--
-- Returns {"ok"} | {"rephone", phone key}: the token's tie is not `old_phone`; nothing written
local profile_key, bought_key, buyer_orders_key = KEYS[1], KEYS[2], KEYS[3]
local old_phone_key, new_phone_key = KEYS[4], KEYS[5]
local old_phone, new_phone, ttl = ARGV[1], ARGV[2], ARGV[3]
local first_field = 4

local old = redis.call("HGET", profile_key, "pkey") or ""
if old ~= old_phone then
  return {"rephone", old}
end
if old ~= new_phone then
  -- The token's units so far move with it: off the old phone, onto the new one.
  local held = redis.call("HGETALL", bought_key)
  for i = 1, #held, 2 do
    local units = tonumber(held[i + 1])
    if old ~= "" and redis.call("HINCRBY", old_phone_key, held[i], -units) <= 0 then
      redis.call("HDEL", old_phone_key, held[i])
    end
    if new_phone ~= "" then
      redis.call("HINCRBY", new_phone_key, held[i], units)
    end
  end
end
redis.call("DEL", profile_key)
redis.call("HSET", profile_key, "pkey", new_phone, unpack(ARGV, first_field))
if redis.call("EXISTS", buyer_orders_key) == 0 then
  redis.call("EXPIRE", profile_key, ttl)
end
return {"ok"}
