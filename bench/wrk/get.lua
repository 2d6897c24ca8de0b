-- GET requests over a list of paths (one a line, from the file named by the
-- first argument after --), with the bearer token of the second argument.
local paths = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[counter % #paths + 1])
end
