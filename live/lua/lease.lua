-- Take a question's lease if it is free, or renew it if it is already ours: one call,
-- so that a pass renews every lease it holds in one pipeline (``live.worker``).
-- KEYS[1] the lease's key
-- ARGV[1] the worker's name, ARGV[2] the lease's length in ms
-- Returns 2 if it was free and is now ours, 1 if it was ours and is renewed, 0 if
-- another worker holds it.
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
