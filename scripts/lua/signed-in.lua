-- A signed-in customer: every request carries the seeded customer's session cookie
-- (scripts/bench exports it from `lantian seed`). A signed-out answer (a redirect to
-- /login) shows as non-2xx in the error column.
wrk.headers["Cookie"] = "lantian_session=" .. (os.getenv("LANTIAN_BENCH_SESSION") or "")
