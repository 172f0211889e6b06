-- Change an existing lot's fields (authenticity, issue 15).
--
-- KEYS
--   lot_key       the lot's hash
-- ARGV
--   name, value, ...
--
-- Returns false (no such lot) | the lot's fields (flat)
local lot_key = KEYS[1]
if redis.call("EXISTS", lot_key) == 0 then
  return false
end
if #ARGV > 0 then
  redis.call("HSET", lot_key, unpack(ARGV))
end
return redis.call("HGETALL", lot_key)
