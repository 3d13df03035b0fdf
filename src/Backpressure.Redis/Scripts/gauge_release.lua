-- Returns a holder's permit and folds its hold time into the mean. ARGV: clock, holder.
local holder = ARGV[2]
local removed = redis.call('ZREM', KEYS[1], holder)
local acquired = tonumber(redis.call('HGET', KEYS[2], holder))
redis.call('HDEL', KEYS[2], holder)
if removed == 1 and acquired then
  local sample = now - acquired
  local hold = tonumber(redis.call('HGET', KEYS[2], '~hold'))
  if hold then hold = hold + (sample - hold) / 8 else hold = sample end
  redis.call('HSET', KEYS[2], '~hold', num(hold))
end
return {removed, 0, 0}
