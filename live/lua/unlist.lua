-- Take a deleted question off its room's list; it is no longer the current one.
-- KEYS[1] room hash        {r:id}:meta  (current)
-- KEYS[2] the room's list  {r:id}:questions
-- ARGV[1] question id
-- Returns the list as it is now.
redis.call('LREM', KEYS[2], 0, ARGV[1])
if redis.call('HGET', KEYS[1], 'current') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', '')
end
return redis.call('LRANGE', KEYS[2], 0, -1)
