-- Create a product unless its id is taken.
-- KEYS: 1 product hash, 2 products list.  ARGV: 1 id, 2.. field, value pairs
-- Returns 1 when created, 0 when the id exists (nothing written).
if redis.call("EXISTS", KEYS[1]) == 1 then
  return 0
end
redis.call("HSET", KEYS[1], unpack(ARGV, 2))
redis.call("RPUSH", KEYS[2], ARGV[1])
return 1
