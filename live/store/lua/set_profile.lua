-- Store a buyer's delivery details and tie the token to a phone number, in one step
-- (see live/store/base.py: Store.set_profile).
-- KEYS: 1 the buyer's profile, 2 the buyer's bought units, 3 the buyer's orders,
--       4 the bought units of the phone ARGV[1], 5 the bought units of the phone ARGV[2]
-- ARGV: 1 the phone key the caller believes the token is tied to ("" none),
--       2 the phone key to tie it to ("" none), 3 seconds to keep the details of a token
--       without orders, 4.. field, value pairs of the details
-- Returns {"ok"} | {"rephone", phone key}: the token's tie is not ARGV[1]; nothing written
local old = redis.call("HGET", KEYS[1], "pkey") or ""
if old ~= ARGV[1] then
  return {"rephone", old}
end
if old ~= ARGV[2] then
  -- The token's units so far move with it: off the old phone, onto the new one.
  local held = redis.call("HGETALL", KEYS[2])
  for i = 1, #held, 2 do
    local units = tonumber(held[i + 1])
    if old ~= "" and redis.call("HINCRBY", KEYS[4], held[i], -units) <= 0 then
      redis.call("HDEL", KEYS[4], held[i])
    end
    if ARGV[2] ~= "" then
      redis.call("HINCRBY", KEYS[5], held[i], units)
    end
  end
end
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "pkey", ARGV[2], unpack(ARGV, 4))
if redis.call("EXISTS", KEYS[3]) == 0 then
  redis.call("EXPIRE", KEYS[1], ARGV[3])
end
return {"ok"}
