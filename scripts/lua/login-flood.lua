-- A credential-stuffing flood: every request a wrong password for a different made-up name
-- from a different made-up client address (X-Forwarded-For, believed because the benchmark
-- server trusts 127.0.0.1 as its proxy), so no limit short-cuts the password hashing.
math.randomseed(os.time())

request = function()
  local name = "flood" .. math.random(1, 2000000000)
  local ip = string.format("198.18.%d.%d", math.random(0, 255), math.random(1, 254))
  local headers = {}
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["X-Forwarded-For"] = ip
  return wrk.format("POST", "/login", headers, "login=" .. name .. "&password=not-the-password-123")
end
