-- Replace a room's question list by a new order of the same ids, atomically: a join
-- reads the old order or the new one, never a mix.
-- KEYS[1] the room's list {r:id}:questions
-- ARGV    the question ids in their new order
-- Returns 1, or 0 (nothing changed) if the list does not hold exactly these ids.
local live = redis.call('LRANGE', KEYS[1], 0, -1)
if #live ~= #ARGV then return 0 end
local wanted = {}
for _, id in ipairs(ARGV) do wanted[id] = (wanted[id] or 0) + 1 end
for _, id in ipairs(live) do
  if not wanted[id] or wanted[id] == 0 then return 0 end
  wanted[id] = wanted[id] - 1
end
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
