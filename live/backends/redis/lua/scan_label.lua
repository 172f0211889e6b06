-- Count one view of a label's public page (authenticity, issue 15).
--
-- KEYS
--   label_key     the label's hash
--   devices_key   HyperLogLog of the device tags that viewed it
-- ARGV
--   now           Unix seconds
--   device        the viewer's device tag (a digest)
--
-- An unknown serial creates nothing.
-- Returns false (unknown) | {label fields (flat), distinct devices}
local label_key, devices_key = KEYS[1], KEYS[2]
local now, device = ARGV[1], ARGV[2]
if redis.call("EXISTS", label_key) == 0 then
  return false
end
redis.call("HINCRBY", label_key, "scans", 1)
redis.call("HSETNX", label_key, "first_scan", now)
redis.call("PFADD", devices_key, device)
return {redis.call("HGETALL", label_key), redis.call("PFCOUNT", devices_key)}
