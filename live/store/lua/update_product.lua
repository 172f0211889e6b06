-- Edit a product's fields and/or its stock in one step, and bump the seq of its shows.
-- KEYS: 1 product, 2.. the show hashes whose lineup holds it
-- ARGV: 1 mode ("none" | "set" | "delta"), 2 n, 3 max stock, 4.. field, value pairs
-- Returns {"ok", stock} | {"missing"} | {"negative", stock} | {"too_large", stock}
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
if new > tonumber(ARGV[3]) then
  return {"too_large", stock}
end
if #ARGV > 3 then
  redis.call("HSET", KEYS[1], unpack(ARGV, 4))
end
redis.call("HSET", KEYS[1], "stock", new)
redis.call("HINCRBY", KEYS[1], "version", 1)
for i = 2, #KEYS do
  if redis.call("EXISTS", KEYS[i]) == 1 then
    redis.call("HINCRBY", KEYS[i], "seq", 1)
  end
end
return {"ok", new}
