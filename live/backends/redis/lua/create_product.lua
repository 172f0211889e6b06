-- Create a product unless its id is taken.
--
-- KEYS
--   product_key   the product's hash
--   products_key  the list of every product id, oldest first
-- ARGV
--   product_id
--   2..           field, value pairs of the product
--
-- Returns 1 when created, 0 when the id exists (nothing written).
local product_key, products_key = KEYS[1], KEYS[2]
local product_id, first_field = ARGV[1], 2

if redis.call("EXISTS", product_key) == 1 then
  return 0
end
redis.call("HSET", product_key, unpack(ARGV, first_field))
redis.call("RPUSH", products_key, product_id)
return 1
