-- POST /wx/login with a fresh simulator code each time, for one of USERS returning users.
-- Codes are unique per run and thread (the simulator refuses a code it has seen: code_used).
local users = tonumber(os.getenv("USERS") or "1000")
local threads, counter = 0, 0

function setup(thread)
  threads = threads + 1
  thread:set("prefix", string.format("%d%02d", os.time(), threads))
end

function init(args)
  math.randomseed(tonumber(prefix))
end

request = function()
  counter = counter + 1
  local body = string.format('{"code":"sim:user%d:%s-%d"}', math.random(1, users), prefix, counter)
  return wrk.format("POST", "/wx/login", {["Content-Type"] = "application/json"}, body)
end
