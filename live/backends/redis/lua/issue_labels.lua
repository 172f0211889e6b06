-- Label a show's units, each at most once (authenticity, issue 15).
--
-- KEYS
--   units_key     hash "order_id:unit" -> serial: the units labelled so far
--   list_key      list of the show's serials, in issue order
--   label_key...  one per draft (ARGV[i] goes with KEYS[i + 2]): the label's hash
-- ARGV
--   draft...      JSON {"unit": "order_id:unit", "serial": s, "fields": [name, value, ...]}
--
-- A draft for a unit already labelled (here or by an earlier draft) is dropped, so concurrent
-- issuers give one set of labels. Every check comes before any write: a taken serial stores
-- nothing.
-- Returns {"ok", added} | {"taken"}
local units_key, list_key = KEYS[1], KEYS[2]

local new, seen = {}, {}
for i = 1, #ARGV do
  local label_key = KEYS[i + 2]
  local draft = cjson.decode(ARGV[i])
  if not seen[draft.unit] and redis.call("HEXISTS", units_key, draft.unit) == 0 then
    if redis.call("EXISTS", label_key) == 1 then
      return {"taken"}
    end
    seen[draft.unit] = true
    new[#new + 1] = {i, draft}
  end
end
for _, item in ipairs(new) do
  local label_key = KEYS[item[1] + 2]
  local draft = item[2]
  redis.call("HSET", units_key, draft.unit, draft.serial)
  redis.call("RPUSH", list_key, draft.serial)
  redis.call("HSET", label_key, unpack(draft.fields))
end
return {"ok", #new}
