-- A live instance extends its holders' leases. ARGV: clock, lease (microseconds), holder...
-- A holder already gone (its lease ran out while the instance was cut off) is not brought back. A holder
-- marked '+' was confirmed by this instance within its lease, so it can only be gone because Redis lost it
-- (a flush, a failover that lost writes): it is put back, so that the permits it holds are counted again
-- rather than handed out a second time.
local lease = tonumber(ARGV[2])
local renewed = 0
for i = 3, #ARGV do
  local holder = ARGV[i]
  local restore = string.sub(holder, 1, 1) == '+'
  if restore then holder = string.sub(holder, 2) end
  if redis.call('ZSCORE', KEYS[1], holder) then
    redis.call('ZADD', KEYS[1], now + lease, holder)
    renewed = renewed + 1
  elseif restore then
    redis.call('ZADD', KEYS[1], now + lease, holder)
    redis.call('HSET', KEYS[2], holder, num(now))
    renewed = renewed + 1
  end
end
if renewed > 0 then
  redis.call('PEXPIRE', KEYS[1], ms(2 * lease))
  redis.call('PEXPIRE', KEYS[2], ms(2 * lease))
end
return {renewed, 0, 0}
