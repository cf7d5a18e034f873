-- A tally snapshot of one question, at most one per interval across all nodes.
-- KEYS[1] question hash {q:id}:meta  (n, room, version)
-- KEYS[2] tally hash    {q:id}:tally
-- KEYS[3] tick lock     {q:id}:tick
-- KEYS[4] words zset    {q:id}:words  (open text: answer -> minus its count)
-- KEYS[5] hidden set    {q:id}:hidden (open text: answers the host hid)
-- ARGV[1] interval in ms
-- ARGV[2] fan-out channel
-- ARGV[3] question id
-- ARGV[4] "1" to skip the interval (a host action must be seen at once)
-- ARGV[5] how many answers an open-text snapshot carries (the most given, none hidden)
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
local meta = redis.call('HMGET', KEYS[1], 'n', 'room', 'kind')
if not meta[1] then return 0 end
local n = tonumber(meta[1])
local raw = redis.call('HGETALL', KEYS[2])
local by = {}
for i = 1, #raw, 2 do by[raw[i]] = tonumber(raw[i + 1]) end
local event = {t = 'tally', room = meta[2], question = ARGV[3], total = by['total'] or 0}
if meta[3] == 'text' then
  -- The cloud's answers, most given first; an empty list encodes as {} (read as none).
  local hidden, size = {}, tonumber(ARGV[5])
  local hid = redis.call('SMEMBERS', KEYS[5])
  for _, w in ipairs(hid) do hidden[w] = true end
  local top = redis.call('ZRANGE', KEYS[4], 0, size + #hid - 1, 'WITHSCORES')
  local words = {}
  for i = 1, #top, 2 do
    if not hidden[top[i]] and #words < size then
      words[#words + 1] = {top[i], -tonumber(top[i + 1])}
    end
  end
  event.words = words
  event.distinct = redis.call('ZCARD', KEYS[4])
else
  local counts = {}
  for i = 0, n - 1 do counts[i + 1] = by[tostring(i)] or 0 end
  event.counts = counts
end
event.version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local payload = cjson.encode(event)
redis.call('PUBLISH', ARGV[2], payload)
return 0
