-- A tally snapshot of one question, at most one per interval across all nodes.
-- KEYS[1] question hash {q:id}:meta  (n, room, version)
-- KEYS[2] tally hash    {q:id}:tally
-- KEYS[3] tick lock     {q:id}:tick
-- ARGV[1] interval in ms
-- ARGV[2] fan-out channel
-- ARGV[3] question id
-- ARGV[4] "1" to skip the interval (a host action must be seen at once)
-- Returns 0 when published, else the ms until the next snapshot may go.
-- The snapshot is encoded once, here, and published in the same atomic step that takes
-- its version: publish order is version order, whichever node asked.
if ARGV[4] ~= '1' then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
    local wait = redis.call('PTTL', KEYS[3])
    if wait < 1 then wait = 1 end
    return wait
  end
else
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
end
local meta = redis.call('HMGET', KEYS[1], 'n', 'room')
if not meta[1] then return 0 end
local n = tonumber(meta[1])
local raw = redis.call('HGETALL', KEYS[2])
local by = {}
for i = 1, #raw, 2 do by[raw[i]] = tonumber(raw[i + 1]) end
local counts = {}
for i = 0, n - 1 do counts[i + 1] = by[tostring(i)] or 0 end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local payload = cjson.encode({t = 'tally', room = meta[2], question = ARGV[3],
                              version = version, total = by['total'] or 0, counts = counts})
redis.call('PUBLISH', ARGV[2], payload)
return 0
