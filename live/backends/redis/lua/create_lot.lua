-- Store a new lot of an existing product (authenticity, issue 15).
--
-- KEYS
--   lot_key       the lot's hash
--   lots_key      list of lot ids, oldest first
--   product_key   its product's hash
-- ARGV
--   lot_id, then the lot's fields (name, value, ...)
--
-- Returns {"ok"} | {"exists"} | {"no_product"}
local lot_key, lots_key, product_key = KEYS[1], KEYS[2], KEYS[3]
local lot_id = ARGV[1]
if redis.call("EXISTS", product_key) == 0 then
  return {"no_product"}
end
if redis.call("EXISTS", lot_key) == 1 then
  return {"exists"}
end
redis.call("HSET", lot_key, unpack(ARGV, 2))
redis.call("RPUSH", lots_key, lot_id)
return {"ok"}
