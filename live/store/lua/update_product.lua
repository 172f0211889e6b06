-- Edit a product's fields and/or its stock in one step, and bump the seq of its shows.
-- KEYS: 1 product, 2 its "shows" set, 3.. the show hashes whose lineup holds it
-- ARGV: 1 mode ("none" | "set" | "delta"), 2 n, 3 max stock, 4 how many shows the caller
--       believes hold it, 5.. field, value pairs
-- Returns {"ok", field, value, ...} (the product after the change, read in the same step)
--       | {"missing"} | {"negative", stock} | {"too_large", stock} | {"stale"}
local stock = redis.call("HGET", KEYS[1], "stock")
if not stock then
  return {"missing"}
end
stock = tonumber(stock)
local new = stock
if ARGV[1] == "set" then
  new = tonumber(ARGV[2])
elseif ARGV[1] == "delta" then
  new = stock + tonumber(ARGV[2])
end
if new < 0 then
  return {"negative", stock}
end
-- Only a requested increase is capped: a product above the cap (after cancels) stays editable.
if new > stock and new > tonumber(ARGV[3]) then
  return {"too_large", stock}
end
if redis.call("SCARD", KEYS[2]) ~= tonumber(ARGV[4]) then
  return {"stale"}
end
if #ARGV > 4 then
  redis.call("HSET", KEYS[1], unpack(ARGV, 5))
end
redis.call("HSET", KEYS[1], "stock", new)
redis.call("HINCRBY", KEYS[1], "version", 1)
for i = 3, #KEYS do
  redis.call("HINCRBY", KEYS[i], "seq", 1)
end
local product = redis.call("HGETALL", KEYS[1])
table.insert(product, 1, "ok")
return product
