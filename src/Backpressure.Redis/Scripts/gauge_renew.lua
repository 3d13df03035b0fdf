-- A live instance extends its holders' leases. ARGV: clock, lease (microseconds), holder...
-- A holder already gone (its lease ran out while the instance was cut off) is not brought back.
local lease = tonumber(ARGV[2])
local renewed = 0
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
    renewed = renewed + 1
  end
end
if renewed > 0 then
  redis.call('PEXPIRE', KEYS[1], ms(2 * lease))
  redis.call('PEXPIRE', KEYS[2], ms(2 * lease))
end
return {renewed, 0, 0}
