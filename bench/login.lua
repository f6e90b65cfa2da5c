-- POST /wx/login with a fresh simulator code each time, for one of USERS returning users.
local users = tonumber(os.getenv("USERS") or "1000")
local counter = 0

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end

function init(args)
  math.randomseed(os.time() + tonumber(prefix))
end

request = function()
  counter = counter + 1
  local body = string.format('{"code":"sim:user%d:%s-%d"}', math.random(1, users), prefix, counter)
  return wrk.format("POST", "/wx/login", {["Content-Type"] = "application/json"}, body)
end
