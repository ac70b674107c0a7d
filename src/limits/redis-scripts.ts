/*
 * The shared limiter's Lua scripts. Redis runs a script atomically, so one script call is one round trip that
 * checks and charges every limit of a call together. Time comes from Redis (TIME), so the replicas' clocks need
 * not agree. All keys of a call share the workspace's hash tag `{id}`: Redis Cluster keeps them in one slot.
 * The rate step is gcra.ts's, in Lua.
 */

/**
 * KEYS: leases (sorted set: lease id → expiry), workspace rate, caller rate, usage (hash: day, used).
 * ARGV: lease id, lease ms, max concurrent, workspace rpm, caller rpm, tokens per day (0: no limit).
 * Returns {code, retry ms}: 0 admitted, 1 concurrency, 2 workspace rate, 3 caller rate, 4 budget.
 */
export const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local day = math.floor(now / 86400000)
local budget = tonumber(ARGV[6])
if budget > 0 then
  local u = redis.call('HMGET', KEYS[4], 'day', 'used')
  if tonumber(u[1]) == day and (tonumber(u[2]) or 0) >= budget then
    return {4, (day + 1) * 86400000 - now}
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return {1, 1000}
end
local function step(key, rpm)
  if rpm <= 0 then return nil, 0 end
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local nextTat = tat + 60000 / rpm
  local over = nextTat - now - 60000
  if over > 0 then return nil, math.ceil(over) end
  return nextTat, 0
end
local wsTat, wsWait = step(KEYS[2], tonumber(ARGV[4]))
if wsWait > 0 then return {2, wsWait} end
local callerTat, callerWait = step(KEYS[3], tonumber(ARGV[5]))
if callerWait > 0 then return {3, callerWait} end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * lease)
if wsTat then redis.call('SET', KEYS[2], string.format('%.3f', wsTat), 'PX', math.ceil(wsTat - now) + 1) end
if callerTat then redis.call('SET', KEYS[3], string.format('%.3f', callerTat), 'PX', math.ceil(callerTat - now) + 1) end
return {0, 0}
`;

/**
 * Ends a call: frees its lease and adds the Dify tokens its run used to today's count.
 * KEYS: leases, usage. ARGV: lease id, tokens used.
 */
export const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
local tokens = tonumber(ARGV[2])
if tokens > 0 then
  local t = redis.call('TIME')
  local day = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / 86400000)
  if tonumber(redis.call('HGET', KEYS[2], 'day')) == day then
    redis.call('HINCRBY', KEYS[2], 'used', tokens)
  else
    redis.call('HSET', KEYS[2], 'day', day, 'used', tokens)
  end
  redis.call('PEXPIRE', KEYS[2], 2 * 86400000)
end
return 0
`;

/**
 * The heartbeat: pushes the expiry of this replica's leases of one workspace out by a lease. A lease that
 * already expired (Redis was away longer than a lease) is not brought back: its slot may be taken by now.
 * KEYS: leases. ARGV: lease ms, lease ids…
 */
export const RENEW = `
local t = redis.call('TIME')
local lease = tonumber(ARGV[1])
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + lease
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], 2 * lease)
return 0
`;

/** How many slots of a workspace are held cluster-wide, for tests and operators. KEYS: leases. */
export const IN_FLIGHT = `
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return redis.call('ZCARD', KEYS[1])
`;
