-- A concurrency gauge shared by instances. KEYS[1]: sorted set of holders scored by lease expiry;
-- KEYS[2]: hash of holder -> acquired at, and '~hold' -> the mean hold time (weight 1/8). A holder
-- whose instance died stops renewing and is dropped once its lease expires, so no permit leaks.
-- ARGV: clock, holder, limit, lease (microseconds), initial hold-time estimate (microseconds), permits (0 or 1).
local holder, limit, lease, initial, permits = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(expired))
end
local held = redis.call('ZCARD', KEYS[1])
if held >= limit then
  -- The in-process gauge's estimate: the mean hold time less the age of the oldest holder, within [hold/(limit+1), hold].
  local hold = tonumber(redis.call('HGET', KEYS[2], '~hold')) or initial
  local first = redis.call('ZRANGE', KEYS[1], 0, 0)
  local acquired = first[1] and tonumber(redis.call('HGET', KEYS[2], first[1]))
  local wait = hold
  if acquired then wait = hold - (now - acquired) end
  wait = math.min(hold, math.max(hold / (limit + 1), wait))
  return {0, math.ceil(wait), 0}
end
if permits == 0 then
  -- Only asks whether there is room: it holds nothing.
  return {1, 0, limit - held}
end
redis.call('ZADD', KEYS[1], now + lease, holder)
redis.call('HSET', KEYS[2], holder, num(now))
redis.call('PEXPIRE', KEYS[1], ms(2 * lease))
redis.call('PEXPIRE', KEYS[2], ms(2 * lease))
return {1, 0, limit - held - 1}
