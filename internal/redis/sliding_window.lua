-- An exact sliding-window log, atomic because Redis runs a script alone.
-- KEYS[1]  sorted set of events, scored by their time in microseconds
-- ARGV[1]  now (µs)           ARGV[2]  cutoff = now - window (µs)
-- ARGV[3]  limit              ARGV[4]  window (ms, for PEXPIRE)
-- ARGV[5]  unique member      ARGV[6]  "1" to record an allowed event
-- KEYS[2], when given: a key to claim (SET NX) when allowed, for ARGV[7] ms.
-- Returns {allowed (1|0), count, score of the entry that must leave first
-- (refused only, as a string so no precision is lost), 1 when KEYS[2] was
-- claimed}.
-- Times come from the caller's clock, never Redis TIME, so tests can move time.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if count < limit then
  if ARGV[6] == '1' then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  end
  local claimed = 0
  if KEYS[2] and redis.call('SET', KEYS[2], '1', 'PX', ARGV[7], 'NX') then
    claimed = 1
  end
  return {1, count + 1, '', claimed}
end
-- Refused: one more fits once the (count-limit+1) oldest entries have left.
local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, count, blocking[2], 0}
