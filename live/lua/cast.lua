-- One ballot decision, atomically.
-- KEYS[1] question hash {q:id}:meta  (status, n, max, log, kind, cap, target, held,
--                                     closes: ms)
-- KEYS[2] voters set    {q:id}:voters
-- KEYS[3] tally hash    {q:id}:tally  (option index -> count, "total")
-- KEYS[4] ballot stream {q:id}:ballots
-- KEYS[5] networks hash {q:id}:networks ("<log id>|<network>" -> ballots)
-- KEYS[6] words zset    {q:id}:words (open text: normalised answer -> minus its count,
--                        so that ZRANGE gives the most given first, ties A to Z)
-- KEYS[7] roster set    {q:id}:roster (phone references of a targeted poll's roster)
-- ARGV[1] voter reference (HMAC of question and identity)
-- ARGV[2] choices, comma-separated option indexes ("0,2"); for open text, the
--         normalised answers (rooms.words: they hold no comma); for a survey, indexes
--         into every part's options side by side
-- ARGV[3] ballot time, ms since the epoch
-- ARGV[4] nonce (32 hex digits)
-- ARGV[5] receipt (hex)
-- ARGV[6] the client network's reference (keyed hash of its address)
-- ARGV[7] most ballots one network may cast on the question ("0": no limit)
-- ARGV[8] the voter's facts, JSON (rooms.eligibility.Facts.as_arg), or "" for none
-- Returns {1, stream entry id} or {0, error code}.
local meta = redis.call(
  'HMGET', KEYS[1], 'status', 'n', 'max', 'log', 'kind', 'cap', 'target', 'held', 'closes')
if not meta[1] then return {0, 'unknown_question'} end
if meta[1] ~= 'open' then return {0, 'closed'} end
-- Past its deadline a question takes nothing, though its closing job may not have run.
if meta[9] and tonumber(ARGV[3]) >= tonumber(meta[9]) then return {0, 'closed'} end
-- Monitors hid (or deleted) the question's poll (live.moderation.reports): a page that
-- joined before still holds the question, and may not cast on it.
if meta[8] then return {0, 'poll_hidden'} end
-- Who may vote (rooms.eligibility.decide is the same decision, in the same order): the
-- rule is the question's, read here, so no node's cache can let an ineligible ballot in.
if meta[7] then
  local rule = cjson.decode(meta[7])
  local f = ARGV[8] ~= '' and cjson.decode(ARGV[8]) or {}
  local function has(list, value)
    for _, x in ipairs(list) do if x == value then return true end end
    return false
  end
  if rule.o and not has(rule.o, f.o) then return {0, 'not_eligible'} end
  if rule.r == 1 and not (f.p and redis.call('SISMEMBER', KEYS[7], f.p) == 1) then
    return {0, 'not_eligible'}
  end
  for _, key in ipairs({'y', 'g', 'd', 'j'}) do
    if rule[key] then
      local value = f[key]
      if value == nil then return {0, 'profile_incomplete'} end
      local inside = false
      if key == 'y' then
        for _, r in ipairs(rule.y) do
          if value >= r[1] and value <= r[2] then inside = true end
        end
      else
        inside = has(rule[key], value)
      end
      if not inside then return {0, 'not_eligible'} end
    end
  end
  if rule.c then
    if type(f.lat) ~= 'number' or type(f.lon) ~= 'number' then return {0, 'position_needed'} end
    -- The haversine distance, as rooms.eligibility.distance_m computes it.
    local lat1, lat2 = math.rad(rule.c[1]), math.rad(f.lat)
    local h = math.sin((lat2 - lat1) / 2) ^ 2
      + math.cos(lat1) * math.cos(lat2) * math.sin(math.rad(f.lon - rule.c[2]) / 2) ^ 2
    if 2 * 6371008.8 * math.asin(math.sqrt(math.min(1, h))) > rule.c[3] then
      return {0, 'out_of_area'}
    end
  end
  if rule.s == 1 and f.s ~= 1 then return {0, 'site_code_needed'} end
end
local n, max = tonumber(meta[2]), tonumber(meta[3])
local text = meta[5] == 'text'
local picks, seen = {}, {}
for token in string.gmatch(ARGV[2], '[^,]+') do
  if text then
    if seen[token] then return {0, 'duplicate_answer'} end
    seen[token] = true
    picks[#picks + 1] = token
  else
    local i = tonumber(token)
    if not i or i ~= math.floor(i) or i < 0 or i >= n or seen[i] then
      return {0, 'invalid_choice'}
    end
    seen[i] = true
    picks[#picks + 1] = i
  end
end
if #picks == 0 then return {0, text and 'empty_answer' or 'invalid_choice'} end
if #picks > max then return {0, 'too_many_choices'} end
-- A survey's picks index its parts' options side by side (rooms.survey): each part, in
-- order, holds the next `size` options; meta.parts is "size:most:required" per part.
if meta[5] == 'survey' then
  local first = 0
  for size, most, required in string.gmatch(redis.call('HGET', KEYS[1], 'parts') or '',
                                            '(%d+):(%d+):(%d)') do
    size = tonumber(size)
    local given = 0
    for _, i in ipairs(picks) do
      if i >= first and i < first + size then given = given + 1 end
    end
    if given > tonumber(most) then return {0, 'invalid_choice'} end
    if given == 0 and required == '1' then return {0, 'part_unanswered'} end
    first = first + size
  end
  if first ~= n then return {0, 'invalid_choice'} end
end
-- A ranking ballot orders every option; its count is the Borda count (n - 1 points for
-- first place, down to none for the last: rooms.questions.borda_points).
local ranking = meta[5] == 'ranking'
if ranking and #picks ~= n then return {0, 'invalid_choice'} end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return {0, 'already_voted'} end
-- First come, first served: past its first `cap` ballots the question is full (a voter
-- who had voted hears already_voted first).
local cap = tonumber(meta[6] or '0') or 0
if cap > 0 and tonumber(redis.call('HGET', KEYS[3], 'total') or '0') >= cap then
  redis.call('SREM', KEYS[2], ARGV[1])
  return {0, 'full'}
end
-- One HINCRBY per accepted ballot; undone on the refusal only. Counted per poll log: a
-- reset starts another log when the question opens again, and with it another count.
if ARGV[7] ~= '0' then
  local from = (meta[4] or '') .. '|' .. ARGV[6]
  if redis.call('HINCRBY', KEYS[5], from, 1) > tonumber(ARGV[7]) then
    redis.call('HINCRBY', KEYS[5], from, -1)
    redis.call('SREM', KEYS[2], ARGV[1])
    return {0, 'too_many_devices'}
  end
end
if text then
  for _, word in ipairs(picks) do redis.call('ZINCRBY', KEYS[6], -1, word) end
elseif ranking then
  for place, i in ipairs(picks) do
    if n > place then redis.call('HINCRBY', KEYS[3], i, n - place) end
  end
else
  for _, i in ipairs(picks) do redis.call('HINCRBY', KEYS[3], i, 1) end
end
redis.call('HINCRBY', KEYS[3], 'total', 1)
-- An open-text ballot's answers go under 'a', so the archive never reads "42" as an index.
local id = redis.call('XADD', KEYS[4], '*', 'v', ARGV[1], text and 'a' or 'c', ARGV[2],
                      't', ARGV[3], 'n', ARGV[4], 'r', ARGV[5])
return {1, id}
