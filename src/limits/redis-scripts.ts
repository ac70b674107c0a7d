/*
 * The shared limiter's Lua scripts. Redis runs a script atomically, so one script call is one round trip that
 * checks and charges every limit of a call together. Time comes from Redis (TIME), so the replicas' clocks need
 * not agree. All keys of a call share the workspace's hash tag `{id}`: Redis Cluster keeps them in one slot.
 * The rate step is gcra.ts's, in Lua.
 */

/**
 * Admits the calls of one workspace that started in the same turn of a replica's event loop, in order, each
 * seeing the slots and rate the ones before it took.
 * KEYS: leases (sorted set: lease id → expiry), workspace rate, usage (hash: day, used), then each call's caller
 * rate. ARGV: lease ms, max concurrent, workspace rpm, caller rpm, tokens per day (0: no limit), then each call's
 * lease id. Returns {code, retry ms} per call, flattened: 0 admitted, 1 concurrency, 2 workspace rate, 3 caller
 * rate, 4 budget.
 */
export const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local day = math.floor(now / 86400000)
local lease, max, wsRpm, callerRpm, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local spent = false
if budget > 0 then
  local u = redis.call('HMGET', KEYS[3], 'day', 'used')
  spent = tonumber(u[1]) == day and (tonumber(u[2]) or 0) >= budget
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
local function step(key, rpm)
  if rpm <= 0 then return nil, 0 end
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local nextTat = tat + 60000 / rpm
  local over = nextTat - now - 60000
  if over > 0 then return nil, math.ceil(over) end
  return nextTat, 0
end
local function admit(callerKey, id)
  if spent then return 4, (day + 1) * 86400000 - now end
  if held >= max then return 1, 1000 end
  local wsTat, wsWait = step(KEYS[2], wsRpm)
  if wsWait > 0 then return 2, wsWait end
  local callerTat, callerWait = step(callerKey, callerRpm)
  if callerWait > 0 then return 3, callerWait end
  redis.call('ZADD', KEYS[1], now + lease, id)
  held = held + 1
  if wsTat then redis.call('SET', KEYS[2], string.format('%.3f', wsTat), 'PX', math.ceil(wsTat - now) + 1) end
  if callerTat then redis.call('SET', callerKey, string.format('%.3f', callerTat), 'PX', math.ceil(callerTat - now) + 1) end
  return 0, 0
end
local answers = {}
for i = 4, #KEYS do
  local code, retry = admit(KEYS[i], ARGV[i + 2])
  answers[#answers + 1] = code
  answers[#answers + 1] = retry
end
redis.call('PEXPIRE', KEYS[1], 2 * lease)
return answers
`;

/**
 * Ends calls of one workspace: frees their leases and adds the Dify tokens their runs used to today's count.
 * KEYS: leases, usage. ARGV: lease id, tokens used, lease id, tokens used, …
 */
export const RELEASE = `
local leases, tokens = {}, 0
for i = 1, #ARGV, 2 do
  leases[#leases + 1] = ARGV[i]
  tokens = tokens + tonumber(ARGV[i + 1])
end
redis.call('ZREM', KEYS[1], unpack(leases))
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
