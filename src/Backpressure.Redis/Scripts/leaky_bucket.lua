-- A queue drained at a constant rate, kept as the time the last admitted request leaves. A request
-- leaves one interval after the one before it (or now, if that is later); it waits for its turn,
-- unless more than queue-limit are already waiting, when it is refused. ARGV: clock, interval
-- (microseconds), queue limit, permits (0 or 1).
local interval, queue_limit, permits = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local last = tonumber(redis.call('GET', KEYS[1]))
local turn = now
if last and last + interval > now then turn = last + interval end
local wait = turn - now
local longest = queue_limit * interval
if permits == 0 then
  -- Only asks whether a request would pass now: it takes no turn and joins no queue.
  if wait > 0 then return {0, math.ceil(wait), math.floor((longest - wait) / interval)} end
  return {1, 0, math.floor(longest / interval)}
end
if wait > longest then
  return {0, math.ceil(wait - longest), 0}
end
-- Until one interval after the last departure a newcomer's turn depends on it; after that the key is worth nothing.
redis.call('SET', KEYS[1], num(turn), 'PX', ms(wait + interval))
return {1, math.ceil(wait), math.floor((longest - wait) / interval)}
