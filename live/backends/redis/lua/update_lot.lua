-- Change an existing lot's fields (authenticity, issue 15).
--
-- KEYS
--   lot_key       the lot's hash
-- ARGV
--   name, value, ...
--
-- Returns false (no such lot) | the lot's fields (flat)
if redis.call("EXISTS", KEYS[1]) == 0 then
  return false
end
if #ARGV > 0 then
  redis.call("HSET", KEYS[1], unpack(ARGV))
end
return redis.call("HGETALL", KEYS[1])
