-- Edit a product's fields and/or its stock in one step; every show holding it hears of it.
-- KEYS: 1 product, 2 its "shows" set, 3.. the show hashes whose lineup holds it
-- ARGV: 1 mode ("none" | "set" | "delta"), 2 n, 3 max stock, 4 how many shows the caller
--       believes hold it (= #KEYS - 2), 5 the version of the "shows" set it read them from (the
--       product's "shows_v" field), 6 .. 5+count the channels of KEYS 3.., then field, value
--       pairs
-- Publishes, per holding show with its new seq: {"type": "product", seq, prev, product_id} when
-- fields changed (a discrete event), else {"type": "stock", ...} (latest value).
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
local count = tonumber(ARGV[4])
if (redis.call("HGET", KEYS[1], "shows_v") or "0") ~= ARGV[5] then
  return {"stale"}
end
local first_field = 6 + count
local edited = #ARGV >= first_field
if edited then
  redis.call("HSET", KEYS[1], unpack(ARGV, first_field))
end
redis.call("HSET", KEYS[1], "stock", new)
local version = redis.call("HINCRBY", KEYS[1], "version", 1)
local sold = tonumber(redis.call("HGET", KEYS[1], "sold"))
local product_id = redis.call("HGET", KEYS[1], "id")
for i = 3, #KEYS do
  local seq = redis.call("HINCRBY", KEYS[i], "seq", 1)
  local event
  if edited then
    local prev = tonumber(redis.call("HGET", KEYS[i], "eseq") or "0")
    redis.call("HSET", KEYS[i], "eseq", seq)
    event = {type = "product", seq = seq, prev = prev, product_id = product_id}
  else
    event = {type = "stock", seq = seq, product_id = product_id, stock = new, sold = sold,
      version = version}
  end
  redis.call("PUBLISH", ARGV[i + 3], cjson.encode(event))
end
local product = redis.call("HGETALL", KEYS[1])
table.insert(product, 1, "ok")
return product
