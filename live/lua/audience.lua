-- How many attendees are connected to a room, over all nodes; at most one announcement per
-- interval per room, whichever node asks.
-- KEYS[1] audience hash {r:id}:audience  (n:<node> -> "<count> <expires ms>", version)
-- KEYS[2] tick lock     {r:id}:audience_tick
-- ARGV[1] node id
-- ARGV[2] the node's count of attendees in the room
-- ARGV[3] how long the node's count holds without a refresh (ms)
-- ARGV[4] interval in ms
-- ARGV[5] fan-out channel
-- ARGV[6] room id
-- Returns 0 when announced, else the ms until an announcement may go. The node's count is
-- written either way; a count past its expiry (its node stopped) is dropped here.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local field = 'n:' .. ARGV[1]
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], field, ARGV[2] .. ' ' .. (now_ms + tonumber(ARGV[3])))
else
  redis.call('HDEL', KEYS[1], field)
end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then
  local wait = redis.call('PTTL', KEYS[2])
  if wait < 1 then wait = 1 end
  return wait
end
local raw = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #raw, 2 do
  if string.sub(raw[i], 1, 2) == 'n:' then
    local count, expires = string.match(raw[i + 1], '^(%d+) (%d+)$')
    if count and tonumber(expires) > now_ms then
      total = total + tonumber(count)
    else
      redis.call('HDEL', KEYS[1], raw[i])
    end
  end
end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('PUBLISH', ARGV[5], cjson.encode({t = 'audience', room = ARGV[6], connected = total,
                                             version = version}))
return 0
