-- A label's PIN, for a verification or for the unit's feedback (authenticity, issue 15).
--
-- KEYS
--   label_key     the label's hash
--   wrong_key     the serial's count of wrong PINs (expires with the window)
--   feedback_key  list of serials with feedback (mode "feedback")
-- ARGV
--   pin, now, max_wrong, window (whole seconds), mode ("verify" | "feedback"),
--   then for "feedback": the feedback's fields (name, value, ...)
--
-- Past `max_wrong` wrong PINs within the window nothing is checked. The first correct PIN
-- sets verified_at exactly once (HSETNX in this one step).
-- Returns {"missing"} | {"limited"} | {"wrong"}
--       | verify: {"first", verified_at} | {"again", verified_at}
--       | feedback: {"unverified"} | {"rated"} | {"ok"}
local label_key, wrong_key, feedback_key = KEYS[1], KEYS[2], KEYS[3]
local pin, now = ARGV[1], ARGV[2]
local max_wrong, window, mode = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]

local stored = redis.call("HGET", label_key, "pin")
if not stored then
  return {"missing"}
end
if tonumber(redis.call("GET", wrong_key) or "0") >= max_wrong then
  return {"limited"}
end
if stored ~= pin then
  if redis.call("INCR", wrong_key) == 1 then
    redis.call("EXPIRE", wrong_key, window)
  end
  return {"wrong"}
end
if mode == "verify" then
  if redis.call("HSETNX", label_key, "verified_at", now) == 1 then
    return {"first", now}
  end
  return {"again", redis.call("HGET", label_key, "verified_at")}
end
if not redis.call("HGET", label_key, "verified_at") then
  return {"unverified"}
end
if redis.call("HEXISTS", label_key, "fb_at") == 1 then
  return {"rated"}
end
redis.call("HSET", label_key, unpack(ARGV, 6))
redis.call("RPUSH", feedback_key, redis.call("HGET", label_key, "serial"))
return {"ok"}
